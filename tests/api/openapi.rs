//! Issue #13, OpenAPI: `/openapi.json` is OpenAPI 3.1 with an operation for every route of the
//! route table (the list `malformed.rs` checks against `startup/routes.rs`), the envelope, the error
//! body and the security schemes in it; `/docs` is a browsable page over it; and schemathesis
//! (PyPI) finds no 5xx and no answer that breaks the schema with a bounded number of examples
//! per operation.

use crate::helpers::*;
use serde_json::Value;
use std::process::Command;

/// `/ipfs/{cid}` and `/ipfs/{path}` alike.
fn template(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

async fn document(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn every_route_is_documented_with_the_envelope_and_the_error_body() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    for (method, route) in crate::malformed::ROUTES {
        let wanted = template(route);
        let operation = paths
            .iter()
            .find(|(p, _)| template(p) == wanted)
            .and_then(|(_, ops)| ops.get(method.to_ascii_lowercase()))
            .unwrap_or_else(|| panic!("{method} {route} is not in /openapi.json"));
        let responses = operation["responses"].as_object().unwrap();
        assert!(!responses.is_empty(), "{method} {route}");
        // every parameter the path names is declared
        let declared: Vec<&str> = operation["parameters"]
            .as_array()
            .map(|ps| ps.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        let documented_path = paths
            .keys()
            .find(|p| template(p) == wanted)
            .unwrap()
            .clone();
        for param in documented_path
            .split('{')
            .skip(1)
            .filter_map(|s| s.split('}').next())
        {
            assert!(declared.contains(&param), "{route}: {{{param}}} undeclared");
        }
        if let Some(rejected) = responses.get("4XX") {
            let schema = &rejected["content"]["application/json"]["schema"];
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            for field in ["success", "error", "error_type", "operation_id"] {
                assert!(required.contains(&field), "{route}: 4XX lacks {field}");
            }
        }
    }
    // the JSON routes' 200 is the envelope
    let health = &paths["/api/v0/health"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"]["properties"];
    for field in [
        "success",
        "operation_id",
        "duration_ms",
        "timestamp",
        "simulated",
    ] {
        assert!(health.get(field).is_some(), "envelope lacks {field}");
    }
    // arguments read from the query are parameters, with Kubo's names
    let add: Vec<&str> = paths["/api/v0/mcp/ipfs/add"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["cid-version", "raw-leaves", "chunker", "pin", "only-hash"] {
        assert!(add.contains(&name), "ipfs/add: {name} in {add:?}");
    }
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    for scheme in ["bearer", "api_key", "basic"] {
        assert!(schemes.contains_key(scheme), "{scheme}");
    }
    app.stop().await;
}

#[tokio::test]
async fn docs_is_a_page_over_the_document() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/docs/");
    let page = client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let init = client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    app.stop().await;
}

/// schemathesis, or `None` when it is not installed and the run does not require it.
fn schemathesis() -> Option<&'static str> {
    if Command::new("schemathesis")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("schemathesis");
    }
    assert!(
        std::env::var_os("IPFS_MCP_REQUIRE_SCHEMATHESIS").is_none(),
        "schemathesis is required: python3 -m pip install schemathesis"
    );
    eprintln!("skipped: schemathesis not installed (python3 -m pip install schemathesis)");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Some(st) = schemathesis() else {
        return;
    };
    let mut settings = test_settings();
    // the debug routes answer too
    settings.server.debug = true;
    let app = spawn_with(settings).await;
    let url = app.url("/openapi.json");
    let reports = tempfile::tempdir().unwrap();
    let out = tokio::task::spawn_blocking({
        let dir = reports.path().to_path_buf();
        move || {
            Command::new(st)
                .args([
                    "--no-color",
                    "run",
                    &url,
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_schema_conformance",
                    "--max-examples",
                    "25",
                    "--seed",
                    "7",
                    "--request-timeout",
                    "30",
                ])
                .current_dir(dir)
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");
    app.stop().await;
}
