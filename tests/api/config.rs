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

/// SIGHUP re-reads the config file: a new default rate applies without a restart.
#[tokio::test]
async fn sighup_reloads_the_run_time_settings() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = dir.path().join("ipfs-mcp.toml");
    let write = |burst: u32| {
        let text = format!(
            "[server]\nport = {port}\ndata_dir = {:?}\n[auth]\nenabled = true\ndefault_rate = \"600/min\"\ndefault_burst = {burst}\n",
            dir.path().join("data")
        );
        std::fs::write(&file, text).unwrap();
    };
    write(1000);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ipfs-mcp"))
        .args(["serve", "--config"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
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
    write(7);
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
    child.kill().ok();
    child.wait().ok();
    assert_eq!(after, Some(7));
}
