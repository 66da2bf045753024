//! Issue #13, configuration management: show with and without secrets, save below the data
//! dir and load back to the same settings, refusals (overwrite, paths outside), validation
//! errors that name the field, conversion between formats.

use crate::helpers::*;
use ipfs_mcp::config::{CliOverrides, Settings};
use serde_json::{Value, json};

#[tokio::test]
async fn show_save_load_validate_convert() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = persistent_settings(dir.path());
    settings.auth.jwt_secret = Some(ipfs_mcp::secret::Secret::new("jwt-s3cret"));
    settings.backend.kubo.authorization = Some(ipfs_mcp::secret::Secret::new("Bearer node-tok"));
    let app = spawn_with(settings).await;

    // a run-time change shows in the effective settings
    let (status, _) = app
        .post_json(
            "cli/config/update",
            json!({"auth": {"default_rate": "42/min"}}),
        )
        .await;
    assert_eq!(status, 200);
    for format in ["json", "yaml", "toml"] {
        let (status, body) = app.get_json(&format!("cli/config?format={format}")).await;
        assert_eq!(status, 200, "{body}");
        let content = body["content"].as_str().unwrap();
        assert!(!body.to_string().contains("jwt-s3cret") && !body.to_string().contains("node-tok"));
        assert!(content.contains("<redacted>"), "{format}: {content}");
        assert!(content.contains("42/min"), "{format}: {content}");
    }
    let (_, full) = app.get_json("cli/config?include_secrets=True").await;
    assert_eq!(full["config"]["auth"]["jwt_secret"], "jwt-s3cret");
    assert_eq!(
        full["config"]["backend"]["kubo"]["authorization"],
        "Bearer node-tok"
    );

    // save, and the file loads back (with --config) to the same effective settings
    let (status, saved) = app
        .post_json(
            "cli/config/save",
            json!({"config_path": "prod.yaml", "include_secrets": true}),
        )
        .await;
    assert_eq!(status, 200, "{saved}");
    let path = std::path::PathBuf::from(saved["config_path"].as_str().unwrap());
    assert!(path.starts_with(dir.path().join("config")));
    let loaded = Settings::load(Some(&path), &CliOverrides::default()).unwrap();
    assert_eq!(loaded.to_value(true), full["config"], "round trip");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (status, body) = app
        .post_json("cli/config/save", json!({"config_path": "prod.yaml"}))
        .await;
    assert_error(status, &body, 409, "already_exists");
    let (status, _) = app
        .post_json(
            "cli/config/save",
            json!({"config_path": "prod.yaml", "overwrite": true, "format": "toml"}),
        )
        .await;
    assert_eq!(status, 200);
    for escape in ["../../etc/evil.toml", "/etc/evil.toml"] {
        let (status, body) = app
            .post_json("cli/config/save", json!({"config_path": escape}))
            .await;
        assert_error(status, &body, 400, "invalid_argument");
    }

    // validation names the field; conversion keeps the settings
    let (status, body) = app
        .post_json(
            "cli/config/validate",
            json!({"config": "[server]\nport = \"eighty\"\n", "format": "toml"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["valid"], false);
    assert_eq!(body["errors"][0]["field"], "server.port", "{body}");
    let (_, body) = app
        .post_json(
            "cli/config/validate",
            json!({"config": {"cache": {"memory_limit": 1024}}}),
        )
        .await;
    assert_eq!(body["valid"], true, "{body}");
    let (status, body) = app
        .post_json(
            "cli/config/convert",
            json!({"config": "server:\n  port: 9001\n", "format": "yaml", "to": "toml"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let toml_text = body["content"].as_str().unwrap();
    let back =
        Settings::from_document(toml_text, ipfs_mcp::config::document::Format::Toml).unwrap();
    assert_eq!(back.server.port, 9001);
    let (status, body): (u16, Value) = app
        .post_json(
            "cli/config/convert",
            json!({"config": "server: [", "format": "yaml", "to": "json"}),
        )
        .await;
    assert_error(status, &body, 422, "invalid_config");
    app.stop().await;
}

/// `ipfs-mcp config show|save|validate|convert`.
#[test]
fn the_cli_shows_saves_validates_and_converts() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ipfs-mcp"))
            .arg("config")
            .args(args)
            .env("IPFS_MCP__SERVER__PORT", "9444")
            .output()
            .unwrap()
    };
    let shown = run(&["show", "--format", "yaml"]);
    assert!(shown.status.success(), "{shown:?}");
    assert!(String::from_utf8_lossy(&shown.stdout).contains("9444"));
    let file = dir.path().join("c.toml");
    let file_arg = file.to_str().unwrap();
    assert!(run(&["save", file_arg]).status.success());
    assert!(!run(&["save", file_arg]).status.success(), "no overwrite");
    assert!(run(&["save", file_arg, "--overwrite"]).status.success());
    let valid = run(&["validate", file_arg]);
    assert!(valid.status.success(), "{valid:?}");
    let converted = run(&["convert", file_arg, "--to", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&converted.stdout).unwrap();
    assert_eq!(json["server"]["port"], 9444);
    std::fs::write(&file, "[limits]\nmax_in_flight = \"many\"\n").unwrap();
    let invalid = run(&["validate", file_arg]);
    assert_eq!(invalid.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&invalid.stdout).contains("limits.max_in_flight"));
}

/// `config/update` changes the cache limits while serving: a smaller memory tier demotes what
/// no longer fits to disk, the object size limit applies to the next read, the effective
/// settings say so; a wrong value names its field and changes nothing.
#[tokio::test]
async fn cache_limits_and_the_log_level_change_at_run_time() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(persistent_settings(dir.path())).await;
    let mut cids = Vec::new();
    for i in 0..4u8 {
        let data = vec![i; 4096];
        let cid = app.add(&data, "").await["cid"]
            .as_str()
            .unwrap()
            .to_string();
        let res = app
            .client
            .get(app.api(&format!("ipfs/cat/{cid}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        cids.push(cid);
    }
    let tier_items = |stats: &Value, tier: &str| {
        stats["tiers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["tier"] == tier)
            .map(|t| t["items"].as_u64().unwrap())
            .unwrap()
    };
    let (_, before) = app.get_json("cache/stats").await;
    assert!(tier_items(&before, "memory") >= 4, "{before}");

    let (status, body) = app
        .post_json(
            "cli/config/update",
            json!({"cache": {"memory_limit": 5000, "max_object_bytes": 1000}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cache"]["memory_limit"], 5000, "{body}");
    let (_, after) = app.get_json("cache/stats").await;
    assert_eq!(tier_items(&after, "memory"), 1, "{after}");
    assert!(
        tier_items(&after, "disk") >= 3,
        "demoted, not dropped: {after}"
    );
    let (_, shown) = app.get_json("cli/config").await;
    assert_eq!(shown["config"]["cache"]["memory_limit"], 5000);
    assert_eq!(shown["config"]["cache"]["max_object_bytes"], 1000);
    // a new 4 KiB file is over the new object limit: served, not cached
    let fresh = app.add(&[9u8; 4096], "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, _) = app.post_json("cache/clear", json!({})).await;
    assert_eq!(status, 200);
    for _ in 0..2 {
        let res = app
            .client
            .get(app.api(&format!("ipfs/cat/{fresh}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-cache-tier"], "backend");
    }

    for (change, field) in [
        (json!({"cache": {"memory_limit": 1}}), "cache.memory_limit"),
        (
            json!({"telemetry": {"log_level": "ipfs_mcp=loud"}}),
            "telemetry.log_level",
        ),
        (
            json!({"limits": {"max_in_flight": 0}, "cache": {"memory_limit": 9000}}),
            "limits.max_in_flight",
        ),
    ] {
        let (status, body) = app.post_json("cli/config/update", change).await;
        assert_error(status, &body, 422, "invalid_config");
        assert!(body["error"].as_str().unwrap().contains(field), "{body}");
    }
    let (_, shown) = app.get_json("cli/config").await;
    assert_eq!(
        shown["config"]["cache"]["memory_limit"], 5000,
        "a rejected change changes nothing"
    );
    let (status, body) = app
        .post_json("cli/config/update", json!({"cache": {"memory_limt": 5}}))
        .await;
    assert_error(status, &body, 422, "invalid_field");
    assert!(
        body["error"].as_str().unwrap().contains("memory_limt"),
        "refused, not ignored"
    );
    app.stop().await;

    // an isolated server has no disk tier to resize
    let app = spawn_app().await;
    let (status, body) = app
        .post_json("cli/config/update", json!({"cache": {"disk_limit": 1}}))
        .await;
    assert_error(status, &body, 409, "not_changeable");
    app.stop().await;
}

/// SIGHUP re-reads the config file: a new default rate and log level apply without a
/// restart; `config/update` changes the level back.
#[tokio::test]
async fn sighup_reloads_the_run_time_settings() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let file = dir.path().join("ipfs-mcp.toml");
    let write = |burst: u32, level: &str| {
        let text = format!(
            "[server]\nport = {port}\ndata_dir = {:?}\n[auth]\nenabled = true\ndefault_rate = \"600/min\"\ndefault_burst = {burst}\n[telemetry]\nlog_level = \"{level}\"\n",
            dir.path().join("data")
        );
        std::fs::write(&file, text).unwrap();
    };
    write(1000, "info");
    let admin = crate::ratelimit::make_key(
        &dir.path().join("data"),
        json!({"name": "ops", "scopes": ["admin"]}),
    );
    let log = dir.path().join("stderr.log");
    let mut child = serve_process(&file, &log);
    let logged = |what: &str| std::fs::read_to_string(&log).unwrap().matches(what).count();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("http://127.0.0.1:{port}/api/v0/health");
    let limit = || async {
        let res = client.get(&url).send().await.ok()?;
        res.headers()
            .get("ratelimit-limit")?
            .to_str()
            .ok()?
            .parse::<u32>()
            .ok()
    };
    let mut seen = None;
    for _ in 0..100 {
        seen = limit().await;
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, Some(1000));
    assert_eq!(logged("ipfs-mcp listening"), 1, "info is logged at start");
    // the reload says so at info, which the new level no longer logs
    write(7, "warn");
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut after = None;
    for _ in 0..50 {
        after = limit().await;
        if after == Some(7) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        child.try_wait().unwrap().is_none(),
        "still serving after SIGHUP"
    );
    assert_eq!(after, Some(7));
    assert_eq!(
        logged("run-time settings reloaded"),
        0,
        "logged at info, level warn"
    );

    let update = |level: &str| {
        client
            .post(format!(
                "http://127.0.0.1:{port}/api/v0/mcp/cli/config/update"
            ))
            .bearer_auth(&admin)
            .json(&json!({"telemetry": {"log_level": level}}))
            .send()
    };
    let res = update("info").await.unwrap();
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["telemetry"]["log_level"], "info");
    assert_eq!(logged("run-time settings changed"), 1, "info again");
    child.kill().ok();
    child.wait().ok();
}
