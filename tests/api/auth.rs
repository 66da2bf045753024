//! Issue #13, authentication: keys, tokens, scopes by route, revocation across a restart,
//! the audit log, and the refusal to serve a non-loopback address unauthenticated.

use crate::helpers::*;
use ipfs_mcp::models::auth::scope::{Access, Scope};
use ipfs_mcp::startup::{ACCESS, Application};
use serde_json::{Value, json};

async fn send(app: &TestApp, path: &str, key: Option<&str>) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).json(&json!({}));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    req.send().await.unwrap()
}

/// Adds `data` (multipart) as the holder of `credential`; returns the root CID.
async fn add_as(app: &TestApp, credential: &str, query: &str, data: &[u8]) -> String {
    let (body, ctype) = multipart("file", "a.txt", data);
    let res = app
        .client
        .post(format!("{}?{query}", app.api("ipfs/add")))
        .bearer_auth(credential)
        .header("content-type", ctype)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json::<Value>().await.unwrap()["cid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Revokes key `id` through the admin route.
async fn revoke_key(app: &TestApp, admin: &str, id: &str) -> reqwest::Response {
    app.client
        .delete(app.api(&format!("auth/keys/{id}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
}

async fn mint(app: &TestApp, key: &str, body: Value) -> Value {
    let res = app
        .client
        .post(app.api("auth/token"))
        .bearer_auth(key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_write_pin_and_admin_route_needs_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let read = make_key(dir.path(), "read");
    let admin = make_key(dir.path(), "admin");
    let app = spawn_with(auth_settings(dir.path())).await;
    let expired = mint(&app, &admin, json!({"ttl_secs": 1})).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let revoked = mint(&app, &admin, json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .client
        .post(app.api("auth/revoke"))
        .bearer_auth(&admin)
        .json(&json!({"token": revoked}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    let mut walked = 0;
    for (path, access) in ACCESS {
        let Access::Scoped(scope) = access else {
            continue;
        };
        let res = send(&app, path, None).await;
        assert!(res.headers().contains_key("www-authenticate"), "{path}");
        assert_error_response(res, 401, "unauthenticated").await;
        assert_error_response(
            send(&app, path, Some(&revoked)).await,
            401,
            "credentials_revoked",
        )
        .await;
        assert_error_response(
            send(&app, path, Some(&expired)).await,
            401,
            "credentials_expired",
        )
        .await;
        assert_error_response(
            send(&app, path, Some("imcp_000000000000_nope")).await,
            401,
            "invalid_credentials",
        )
        .await;
        let with_read = send(&app, path, Some(&read)).await;
        if *scope == Scope::Read {
            assert_ne!(with_read.status(), 403, "{path}");
            assert_ne!(with_read.status(), 401, "{path}");
        } else {
            assert_error_response(with_read, 403, "insufficient_scope").await;
        }
        let with_admin = send(&app, path, Some(&admin)).await.status().as_u16();
        assert!(
            with_admin != 401 && with_admin != 403,
            "{path}: {with_admin}"
        );
        walked += 1;
    }
    assert!(walked > 30, "the table lists the routes: {walked}");
    // and every route the route table declares (the list the malformed-input walk checks
    // against startup/routes.rs) asks what its entry says
    for (method, route) in crate::malformed::ROUTES {
        let path = route
            .replace("{cid}", "bafkqaaa")
            .replace("{name}", "bafkqaaa")
            .replace("{id}", "0");
        let access = ipfs_mcp::startup::access_of(&path);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let call = |key: Option<&str>| {
            let mut r = app.client.request(method.clone(), app.url(&path));
            if let Some(k) = key {
                r = r.bearer_auth(k);
            }
            r.send()
        };
        let anonymous = call(None).await.unwrap().status().as_u16();
        let with_read = call(Some(&read)).await.unwrap().status().as_u16();
        match access {
            Access::Public | Access::Gateway => assert_ne!(anonymous, 401, "{path}"),
            _ => assert_eq!(anonymous, 401, "{method} {path}"),
        }
        match access {
            Access::Scoped(Scope::Write | Scope::Pin | Scope::Admin) => {
                assert_eq!(with_read, 403, "{method} {path}")
            }
            _ => assert!(
                with_read != 401 && with_read != 403,
                "{method} {path}: {with_read}"
            ),
        }
    }
    // a path the table does not list is closed to all but admin
    assert_error_response(
        send(&app, "/api/v0/mcp/nonesuch", Some(&read)).await,
        403,
        "insufficient_scope",
    )
    .await;
    // public routes stay public; the gateway too by default
    let health = app
        .client
        .get(app.url("/api/v0/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let gw = app
        .client
        .get(app.url("/ipfs/bafkqaaa"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        gw.status(),
        200,
        "the identity CID through a public gateway"
    );
    app.stop().await;
}

#[tokio::test]
async fn keys_are_accepted_three_ways_and_tokens_are_never_wider() {
    let dir = tempfile::tempdir().unwrap();
    let pin = make_key(dir.path(), "read,pin");
    let mut settings = auth_settings(dir.path());
    settings.auth.public_gateway = false;
    let app = spawn_with(settings).await;
    let cat = |req: reqwest::RequestBuilder| async move { req.send().await.unwrap().status() };
    let url = app.url("/ipfs/bafkqaaa");
    assert_eq!(cat(app.client.get(&url)).await, 401, "gateway closed");
    assert_eq!(cat(app.client.get(&url).bearer_auth(&pin)).await, 200);
    assert_eq!(
        cat(app.client.get(&url).header("x-api-key", &pin)).await,
        200
    );
    assert_eq!(
        cat(app.client.get(&url).basic_auth("user", Some(&pin))).await,
        200
    );
    assert_eq!(
        cat(app.client.get(&url).basic_auth(&pin, None::<&str>)).await,
        200
    );
    assert_eq!(
        cat(app.client.get(&url).header("authorization", "Digest x")).await,
        401
    );

    // a token may narrow the key's scopes, never widen them
    let res = app
        .client
        .post(app.api("auth/token"))
        .bearer_auth(&pin)
        .json(&json!({"scopes": ["write"]}))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 403, "insufficient_scope").await;
    let narrow = mint(&app, &pin, json!({"scopes": "read"})).await;
    assert_eq!(narrow["scope"], "read");
    let token = narrow["token"].as_str().unwrap();
    let res = send(&app, "/api/v0/mcp/ipfs/pin/add?arg=bafkqaaa", Some(token)).await;
    assert_error_response(res, 403, "insufficient_scope").await;
    // no token minted from a token
    let res = app
        .client
        .post(app.api("auth/token"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_error_response(res, 400, "invalid_argument").await;
    // a non-admin may not revoke by bare jti, nor list keys
    let res = app
        .client
        .post(app.api("auth/revoke"))
        .bearer_auth(&pin)
        .json(&json!({"jti": narrow["jti"]}))
        .send()
        .await
        .unwrap();
    assert_error_response(res, 403, "insufficient_scope").await;
    let res = app
        .client
        .get(app.api("auth/keys"))
        .bearer_auth(&pin)
        .send()
        .await
        .unwrap();
    assert_error_response(res, 403, "insufficient_scope").await;
    app.stop().await;
}

#[tokio::test]
async fn revocation_survives_a_restart_and_nothing_secret_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let admin = make_key(dir.path(), "admin");
    let app = spawn_with(auth_settings(dir.path())).await;
    // keys made through the admin routes work at once, and are listed without secrets
    let made: Value = app
        .client
        .post(app.api("auth/keys"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ci", "scopes": ["read", "write", "pin"], "rate": "60/min", "expires_in": "30d"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = made["key"].as_str().unwrap().to_string();
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(made["rate"], "60/min");
    let token = mint(&app, &key, json!({})).await["token"]
        .as_str()
        .unwrap()
        .to_string();
    let cid = add_as(&app, &token, "pin=true", b"audited").await;
    let pin_path = format!("/api/v0/mcp/ipfs/pin/add?arg={cid}");
    let res = send(&app, &pin_path, Some(&token)).await;
    assert_eq!(res.status(), 200);
    // CIDs a request makes (a block) or names in its body (an unpin) are audited too
    let res = app
        .client
        .post(format!("{}?cid-codec=raw", app.api("ipfs/block/put")))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(&b"an audited block"[..])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let block = res.json::<Value>().await.unwrap()["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .client
        .post(app.api("ipfs/pin/add"))
        .bearer_auth(&admin)
        .json(&json!({"cid": block}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let (status, listed) = {
        let res = app
            .client
            .get(app.api("auth/keys"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        (res.status(), res.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    assert_eq!(listed["count"], 2);
    assert!(!listed.to_string().contains("secret"), "{listed}");
    let res = app
        .client
        .post(app.api("auth/revoke"))
        .bearer_auth(&key)
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    app.stop().await;

    let app = spawn_with(auth_settings(dir.path())).await;
    let res = send(&app, &pin_path, Some(&token)).await;
    assert_error_response(res, 401, "credentials_revoked").await;
    assert_eq!(send(&app, &pin_path, Some(&key)).await.status(), 200);
    let res = revoke_key(&app, &admin, &id).await;
    assert_eq!(res.status(), 200);
    let res = send(&app, &pin_path, Some(&key)).await;
    assert_error_response(res, 401, "credentials_revoked").await;
    app.stop().await;

    // the audit log names the key and the CID, never a secret; no file holds one
    let audit = std::fs::read_to_string(dir.path().join("auth/audit.jsonl")).unwrap();
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let pin_line = lines
        .iter()
        .find(|l| l["route"] == "/api/v0/mcp/ipfs/pin/add" && l["status"] == 200)
        .expect("the pin is audited");
    assert_eq!(pin_line["key_id"], id.as_str());
    assert_eq!(pin_line["cid"], cid.as_str());
    let add_line = lines
        .iter()
        .find(|l| l["route"] == "/api/v0/mcp/ipfs/add")
        .expect("the add is audited");
    assert_eq!(add_line["cid"], cid.as_str(), "the add's root CID");
    let block_line = lines
        .iter()
        .find(|l| l["route"] == "/api/v0/mcp/ipfs/block/put")
        .expect("the block put is audited");
    assert_eq!(block_line["cid"], block.as_str());
    assert!(
        lines
            .iter()
            .any(|l| l["route"] == "/api/v0/mcp/ipfs/pin/add" && l["cid"] == block.as_str()),
        "a CID sent in the body is audited"
    );
    assert_eq!(add_line["method"], "POST");
    assert_eq!(pin_line["client"], "127.0.0.1");
    for entry in walk(dir.path()) {
        let bytes = std::fs::read(&entry).unwrap();
        for secret in [&key, &admin, &token] {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a secret in {}", entry.display());
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test]
async fn a_non_loopback_address_without_auth_is_refused_unless_allowed() {
    let mut s = test_settings();
    s.server.host = "0.0.0.0".into();
    let err = Application::build(s.clone()).await.err().expect("refused");
    assert!(err.to_string().contains("--allow-unauthenticated"), "{err}");
    s.server.allow_unauthenticated = true;
    assert!(Application::build(s.clone()).await.is_ok());
    s.server.allow_unauthenticated = false;
    s.auth.enabled = true;
    assert!(Application::build(s).await.is_ok());
}

/// `ipfs-mcp keys create|list|revoke` on the data dir of a running server: it sees the new key
/// and the revocation within its one-second recheck.
#[tokio::test]
async fn the_cli_manages_keys_a_running_server_uses() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(auth_settings(dir.path())).await;
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipfs-mcp"))
            .arg("keys")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let key = cli(&[
        "create",
        "--name",
        "ops",
        "--scopes",
        "read,pin",
        "--rate",
        "100/min",
        "--expires",
        "30d",
    ]);
    let key = key.trim().to_string();
    assert!(key.starts_with("imcp_"), "{key}");
    let listed = cli(&["list"]);
    let id = key.split('_').nth(1).unwrap();
    assert!(listed.contains(id) && listed.contains("read,pin") && listed.contains("100/min"));
    assert!(
        listed.contains("active") && !listed.contains(&key),
        "{listed}"
    );
    let status = || async {
        app.client
            .get(app.api("ipfs/pin/ls"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
    };
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(status().await, 200);
    cli(&["revoke", id]);
    assert!(cli(&["list"]).contains("revoked"));
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(status().await, 401);
    app.stop().await;
}

/// The real server at `trace` level, its log kept: keys and tokens, sent every accepted way
/// and wrongly, never appear in it.
#[tokio::test]
async fn no_key_or_token_reaches_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let key = make_key(&data, "admin");
    let port = free_port();
    let file = dir.path().join("ipfs-mcp.toml");
    std::fs::write(
        &file,
        format!(
            "[server]\nport = {port}\ndata_dir = {data:?}\n[auth]\nenabled = true\n\
             [telemetry]\nlog_level = \"trace\"\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = serve_process(&file, &log);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let api = |path: &str| format!("http://127.0.0.1:{port}/api/v0/mcp/{path}");
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("http://127.0.0.1:{port}/api/v0/health"))
            .send()
            .await
            .is_ok()
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server started");
    let minted: Value = client
        .post(api("auth/token"))
        .bearer_auth(&key)
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = minted["token"].as_str().unwrap().to_string();
    for request in [
        client.get(api("ipfs/pin/ls")).bearer_auth(&key),
        client.get(api("ipfs/pin/ls")).bearer_auth(&token),
        client.get(api("ipfs/pin/ls")).header("x-api-key", &key),
        client.get(api("ipfs/pin/ls")).basic_auth("any", Some(&key)),
        client
            .get(api("ipfs/pin/ls"))
            .bearer_auth(format!("{key}x")),
        client
            .get(api("ipfs/pin/ls"))
            .bearer_auth(format!("{token}x")),
    ] {
        request.send().await.unwrap();
    }
    let res = client
        .post(api("auth/revoke"))
        .bearer_auth(&key)
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    child.kill().ok();
    child.wait().ok();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.lines().count() > 20, "trace level logs: {logged}");
    let secret_part = key.rsplit('_').next().unwrap();
    for secret in [key.as_str(), secret_part, token.as_str()] {
        assert!(!logged.contains(secret), "a secret in the log");
    }
    // nor a token's signature alone
    let signature = token.rsplit('.').next().unwrap();
    assert!(!logged.contains(signature));
}

#[tokio::test]
async fn answers_behind_a_credential_are_private_to_shared_caches() {
    let dir = tempfile::tempdir().unwrap();
    let key = make_key(dir.path(), "read,write");
    let app = spawn_with(auth_settings(dir.path())).await;
    let cid = add_as(&app, &key, "", b"private to key holders").await;
    let cache_control = |res: &reqwest::Response| {
        res.headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    // the API's cat needs `read`: a CDN must not hand it to callers without the key
    for _ in 0..2 {
        let res = app
            .client
            .get(app.api(&format!("ipfs/cat/{cid}")))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(cache_control(&res), "private, max-age=29030400, immutable");
        assert!(res.headers().contains_key("ratelimit-remaining"));
    }
    // the public gateway stays public, with or without a key
    for key in [None, Some(&key)] {
        let mut req = app.client.get(app.url(&format!("/ipfs/{cid}")));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(cache_control(&res).starts_with("public"), "{key:?}");
    }
}

#[tokio::test]
async fn a_revoked_key_is_refused_at_once_by_the_worker_that_verified_it() {
    let dir = tempfile::tempdir().unwrap();
    let admin = make_key(dir.path(), "admin");
    let reader = make_key(dir.path(), "read");
    let mut settings = auth_settings(dir.path());
    settings.server.workers = Some(1); // one worker: its memo of the verified key is the one used
    let app = spawn_with(settings).await;
    let stats = app.api("cache/stats");
    for _ in 0..3 {
        let res = app
            .client
            .get(&stats)
            .bearer_auth(&reader)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let id = reader.split('_').nth(1).unwrap();
    let res = revoke_key(&app, &admin, id).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = app
        .client
        .get(&stats)
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
