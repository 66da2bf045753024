//! Cache metadata over HTTP: queries, per-CID rows, pins, restart with pre-warm, quarantine
//! reported in /health, and data dirs of other layout versions.

use crate::helpers::*;
use serde_json::Value;

async fn cat(app: &TestApp, cid: &str) -> reqwest::Response {
    let res = app
        .client
        .get(app.api(&format!("ipfs/cat/{cid}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res
}

async fn add_and_read(app: &TestApp, data: &[u8], reads: usize) -> String {
    let cid = app.add(data, "").await["cid"].as_str().unwrap().to_string();
    for _ in 0..reads {
        cat(app, &cid).await.bytes().await.unwrap();
    }
    cid
}

async fn query(app: &TestApp, q: &str) -> (u16, Value) {
    app.get_json(&format!("cache/metadata?{q}")).await
}

fn cids(body: &Value) -> Vec<String> {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["cid"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn metadata_is_filtered_sorted_and_limited() {
    let app = spawn_app().await;
    let hot = add_and_read(&app, b"read five times", 5).await;
    let warm = add_and_read(&app, b"read twice", 2).await;
    let png = add_and_read(&app, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 1).await;
    let cold = add_and_read(&app, b"never read", 0).await;

    let (status, body) = query(&app, "sort=heat_score&limit=2").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (cids(&body), body["matched"].as_u64()),
        (vec![hot.clone(), warm.clone()], Some(4))
    );
    assert_eq!(body["rows"][0]["access_count"], 5);
    assert!(body["rows"][0]["heat_score"].as_f64().unwrap() > 4.9);
    assert_eq!(body["rows"][0]["mime_type"], "text/plain; charset=utf-8");
    assert_eq!(body["rows"][0]["pinned"], true);
    assert_eq!(body["rows"][0]["backend"], "simulation");

    // repeated filters are ANDed; spaced and compact forms; `in` lists
    let (_, body) = query(&app, "filter=access_count%20>=%201&filter=heat_score<3").await;
    assert_eq!(cids(&body), vec![warm.clone(), png.clone()]);
    let (_, body) = query(&app, "filter=mime_type+in+image/png,image/jpeg").await;
    assert_eq!(cids(&body), vec![png.clone()]);
    let (_, body) = query(&app, "filter=access_count+==+0").await;
    assert_eq!(cids(&body), vec![cold.clone()]);
    assert_eq!(body["rows"][0]["last_access"], Value::Null);
    let (_, body) = query(&app, "sort=heat_score&order=asc&limit=1").await;
    assert_eq!(cids(&body), vec![cold.clone()]);
    let (_, body) = query(&app, &format!("filter=cid+==+{hot}&filter=tier+==+memory")).await;
    assert_eq!(cids(&body), vec![hot.clone()]);

    for (q, what) in [
        ("filter=colour+==+red", "unknown field"),
        ("filter=heat_score+~+1", "unknown operator"),
        ("filter=heat_score+>", "missing value"),
        ("filter=size_bytes+>+big", "not a number"),
        ("filter=cid+==+not-a-cid", "bad CID"),
        ("sort=colour", "bad sort field"),
        ("order=sideways", "bad order"),
        ("limit=-1", "bad limit"),
        ("limit=100000", "limit over the maximum"),
        ("frobnicate=1", "unknown parameter"),
    ] {
        let (status, body) = query(&app, q).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert_error(status, &body, 400, "invalid_argument");
    }
}

#[tokio::test]
async fn metadata_row_per_cid_follows_pins() {
    let app = spawn_app().await;
    let cid = add_and_read(&app, b"one row", 1).await;
    let (status, body) = app.get_json(&format!("cache/metadata/{cid}")).await;
    assert_eq!(status, 200, "{body}");
    let row = &body["row"];
    assert_eq!(
        (row["cid"].as_str(), row["size_bytes"].as_u64()),
        (Some(cid.as_str()), Some(7))
    );
    assert_eq!(
        (row["pinned"].as_bool(), row["access_count"].as_u64()),
        (Some(true), Some(1))
    );
    assert!(row["first_seen"].as_str().unwrap().ends_with('Z'));
    let (status, _) = app
        .post_json("ipfs/pin/rm", serde_json::json!({"cid": cid}))
        .await;
    assert_eq!(status, 200);
    let (_, body) = app.get_json(&format!("cache/metadata/{cid}")).await;
    assert_eq!(body["row"]["pinned"], false);

    let unknown = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let (status, body) = app.get_json(&format!("cache/metadata/{unknown}")).await;
    assert_error(status, &body, 404, "not_found");
    let (status, body) = app.get_json("cache/metadata/not-a-cid").await;
    assert_error(status, &body, 400, "invalid_argument");
}

/// Waits until `cache/stats` satisfies `done`.
async fn wait_for(app: &TestApp, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (_, stats) = app.get_json("cache/stats").await;
        if done(&stats) {
            return stats;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("cache/stats never got there");
}

#[tokio::test]
async fn restart_keeps_metadata_and_prewarms_the_hottest_into_memory() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(persistent_settings(dir.path())).await;
    let hot = add_and_read(&app, b"hot content", 6).await;
    let cold = add_and_read(&app, &vec![7u8; 2000], 1).await;
    app.stop().await;

    // a memory tier with room for the hot file only
    let mut settings = persistent_settings(dir.path());
    settings.cache.memory_limit = 1500;
    let app = spawn_with(settings).await;
    let stats = wait_for(&app, |s| s["prewarm"]["done"] == true).await;
    assert_eq!(stats["prewarm"]["objects"], 1, "{stats}");
    let (_, body) = app.get_json(&format!("cache/metadata/{hot}")).await;
    assert_eq!(body["row"]["access_count"], 6, "{body}");
    assert_eq!(body["row"]["tier"], "memory");
    let res = cat(&app, &hot).await;
    assert_eq!(res.headers()["x-cache-tier"], "memory", "pre-warmed");
    assert_eq!(&res.bytes().await.unwrap()[..], b"hot content");
    let (_, body) = app.get_json(&format!("cache/metadata/{cold}")).await;
    assert_eq!(body["row"]["access_count"], 1);
    // the on-disk format is plain Parquet: both partitions and their rows are there
    let parts = std::fs::read_dir(dir.path().join("metadata"))
        .unwrap()
        .count();
    assert!(parts >= 1);
    app.stop().await;
}

#[tokio::test]
async fn a_corrupt_partition_is_quarantined_and_reported_in_health() {
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_with(persistent_settings(dir.path())).await;
    let cid = add_and_read(&app, b"survives", 1).await;
    app.stop().await;
    let meta = dir.path().join("metadata");
    std::fs::write(meta.join("part-0000999999.parquet"), b"PAR1 garbage").unwrap();

    let app = spawn_with(persistent_settings(dir.path())).await;
    let (status, body) = app.get_json("health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "degraded", "{body}");
    let q = &body["storage"]["quarantined"];
    assert_eq!(q.as_array().unwrap().len(), 1, "{body}");
    assert_eq!(q[0]["file"], "part-0000999999.parquet");
    assert!(meta.join("quarantine").read_dir().unwrap().count() == 1);
    // still serving, with the good partitions loaded
    assert_eq!(
        &cat(&app, &cid).await.bytes().await.unwrap()[..],
        b"survives"
    );
    let (_, body) = app.get_json(&format!("cache/metadata/{cid}")).await;
    assert_eq!(body["row"]["access_count"], 2);
    app.stop().await;
}
