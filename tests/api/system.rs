use crate::helpers::*;

#[tokio::test]
async fn health_and_alias() {
    let app = spawn_app().await;
    for url in [app.api("health"), app.url("/api/v0/health")] {
        let res = app.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        assert_eq!(body["backend"]["kind"], "simulation");
        assert_eq!(body["backend"]["state"], "up");
        assert_eq!(body["isolation"], true);
        assert!(body["uptime_seconds"].as_f64().is_some());
        assert!(body["version"].as_str().is_some());
    }
}

#[tokio::test]
async fn debug_routes_are_forbidden_without_debug() {
    let app = spawn_app().await;
    for route in ["debug", "operations"] {
        let (status, body) = app.get_json(route).await;
        assert_error(status, &body, 403, "forbidden");
    }
    let res = app.client.get(app.api("health")).send().await.unwrap();
    assert!(res.headers().get("x-mcp-session-id").is_none());
}

#[tokio::test]
async fn debug_mode_headers_operations_and_debug() {
    let mut settings = test_settings();
    settings.server.debug = true;
    settings.server.operations_capacity = 3;
    let app = spawn_with(settings).await;
    let res = app
        .client
        .get(app.api("health"))
        .header("x-mcp-session-id", "my-session")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-mcp-session-id"], "my-session");
    assert!(
        res.headers()["x-mcp-process-time"]
            .to_str()
            .unwrap()
            .ends_with("ms")
    );
    let res = app.client.get(app.api("ipfs/id")).send().await.unwrap();
    assert!(!res.headers()["x-mcp-session-id"].is_empty());
    for _ in 0..4 {
        app.get_json("ipfs/version").await;
    }
    let (status, body) = app.get_json("operations").await;
    assert_eq!(status, 200);
    assert_eq!(body["count"], 3, "the ring is bounded");
    assert_eq!(body["operations"][0]["operation"], "ipfs/version");
    let (status, body) = app.get_json("debug").await;
    assert_eq!(status, 200);
    assert!(body["process"]["rss_bytes"].as_u64().unwrap() > 0);
    assert_eq!(body["settings"]["server"]["debug"], true);
}
