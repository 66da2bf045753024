//! Issue #13, metrics: `GET /metrics` passes `promtool check metrics`, the shipped alert rules
//! pass `promtool check rules`, every name the dashboard and the rules use is served, and the
//! counters move as the requests made here say they should.

use crate::helpers::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// The value of one sample (`name{labels}`, labels in the order the encoder writes them).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// promtool, or `None` when it is not installed and the run does not require it.
fn promtool() -> Option<&'static str> {
    let found = Command::new("promtool").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var_os("IPFS_MCP_REQUIRE_PROMTOOL").is_none(),
            "promtool is required: apt-get install -y prometheus"
        );
        eprintln!("skipped: promtool not installed (apt-get install -y prometheus)");
        return None;
    }
    Some("promtool")
}

#[tokio::test]
async fn metrics_move_with_requests_and_pass_promtool() {
    let app = spawn_app().await;
    let data = vec![7u8; 4096];
    let cid = app.add(&data, "").await["cid"]
        .as_str()
        .unwrap()
        .to_string();
    let cat = app.api(&format!("ipfs/cat/{cid}"));
    for _ in 0..2 {
        let res = app.client.get(&cat).send().await.unwrap();
        assert_eq!(res.bytes().await.unwrap().len(), 4096);
    }
    let head = app.client.head(&cat).send().await.unwrap();
    assert_eq!(head.status(), 200);
    let gw = app
        .client
        .get(app.url(&format!("/ipfs/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(gw.status(), 200);
    let missing = app.client.get(app.api("nonesuch")).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let res = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = res.text().await.unwrap();
    let n =
        |series: &str| sample(&text, series).unwrap_or_else(|| panic!("{series} missing:\n{text}"));
    assert_eq!(
        n(r#"ipfs_mcp_http_requests_total{method="GET",route="ipfs/cat",status="200"}"#),
        2.0
    );
    assert_eq!(
        n(r#"ipfs_mcp_http_requests_total{method="HEAD",route="ipfs/cat",status="200"}"#),
        1.0
    );
    // bytes actually sent: the two GETs, nothing for the HEAD
    assert_eq!(
        n(r#"ipfs_mcp_http_response_bytes_total{route="ipfs/cat"}"#),
        8192.0
    );
    // the gateway under its own route, not "unmatched"
    assert_eq!(
        n(r#"ipfs_mcp_http_requests_total{method="GET",route="gateway/ipfs",status="200"}"#),
        1.0
    );
    assert_eq!(
        n(r#"ipfs_mcp_http_requests_total{method="GET",route="unmatched",status="404"}"#),
        1.0
    );
    assert_eq!(
        n(r#"ipfs_mcp_http_request_duration_seconds_count{method="GET",route="ipfs/cat"}"#),
        2.0
    );
    assert!(n(r#"ipfs_mcp_http_request_bytes_total{route="ipfs/add"}"#) > 4096.0);
    assert!(n(r#"ipfs_mcp_cache_hits_total{tier="memory"}"#) >= 2.0);
    assert!(n(r#"ipfs_mcp_cache_items{tier="memory"}"#) >= 1.0);
    assert!(n(r#"ipfs_mcp_backend_calls_total{operation="add_parts"}"#) >= 1.0);
    assert!(n("ipfs_mcp_metadata_rows") >= 1.0);
    assert_eq!(
        n("ipfs_mcp_http_requests_in_flight"),
        1.0,
        "this scrape itself"
    );
    assert!(n("process_resident_memory_bytes") > 1e6);
    assert!(n("process_open_fds") > 0.0);

    // every name the dashboard and the alert rules use is declared (families without samples
    // yet, such as backend errors, are not in the text)
    let declared = app.metrics.declared();
    let served = |name: &str| declared.iter().any(|d| d == name);
    for file in [
        "deploy/grafana/ipfs-mcp.json",
        "deploy/prometheus/alerts.yml",
    ] {
        let body = std::fs::read_to_string(file).unwrap();
        let mut names: Vec<&str> = body
            .match_indices("ipfs_mcp_")
            .map(|(i, _)| {
                let end = body[i..]
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .map_or(body.len(), |e| i + e);
                &body[i..end]
            })
            .collect();
        names.sort();
        names.dedup();
        assert!(names.len() > 5, "{file}: {names:?}");
        for name in names {
            let family = name.trim_end_matches("_bucket");
            assert!(
                served(family),
                "{file} uses {name}, which /metrics does not serve"
            );
        }
    }

    let Some(promtool) = promtool() else {
        app.stop().await;
        return;
    };
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "promtool check metrics: {out:?}");
    let out = Command::new(promtool)
        .args(["check", "rules", "deploy/prometheus/alerts.yml"])
        .output()
        .unwrap();
    assert!(out.status.success(), "promtool check rules: {out:?}");
    app.stop().await;
}
