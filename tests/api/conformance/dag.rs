//! path_gateway_dag: JSON stored on UnixFS, codec blocks as-is (dag-json, dag-cbor, json,
//! cbor) by `?format=` and `Accept`, 406 for another codec, pathing through links, 501 for a
//! path ending inside a block, headers (type, length, disposition, ETag, cache), HEAD, the
//! HTML view, and ranges of codec blocks.

use super::*;

const JSON_CBOR: &str = "path_gateway_dag/gateway-json-cbor.car";
const DAG_JSON: &str = "path_gateway_dag/dag-json-traversal.car";
const DAG_CBOR: &str = "path_gateway_dag/dag-cbor-traversal.car";
const PLAIN_JSON: &str = "path_gateway_dag/plain-json.car";
const PLAIN_CBOR: &str = "path_gateway_dag/plain-cbor.car";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_on_unixfs_and_codec_mismatches() {
    let fx = Fixture::open(JSON_CBOR).await;
    let json = fx.cid(&["ą", "ę", "t.json"]).await;
    let txt = fx.cid(&["ą", "ę", "file-źł.txt"]).await;
    let dag_json = Fixture::open(DAG_JSON).await.root;
    let dag_cbor = Fixture::open(DAG_CBOR).await.root;
    for g in gateways(&[JSON_CBOR, DAG_JSON, DAG_CBOR]).await {
        for headers in [&[][..], &[("accept", "application/json")][..]] {
            let a = g.get(&format!("/ipfs/{json}"), headers).await;
            assert_eq!(a.status, 200, "{:?}", g.kind);
            assert_eq!(a.header("content-type"), "application/json", "{headers:?}");
            assert_eq!(a.body, fx.block(&json));
        }
        let a = g
            .get(
                &format!("/ipfs/{json}?format=json"),
                &[("accept", "application/vnd.ipld.raw")],
            )
            .await;
        assert_eq!(a.header("content-type"), "application/json");
        for (path, headers) in [
            (format!("/ipfs/{txt}?format=dag-json"), &[][..]),
            (format!("/ipfs/{txt}?format=dag-cbor"), &[][..]),
            (
                format!("/ipfs/{txt}"),
                &[("accept", "application/vnd.ipld.dag-json")][..],
            ),
            (format!("/ipfs/{dag_json}?format=dag-cbor"), &[][..]),
            (format!("/ipfs/{dag_cbor}?format=dag-json"), &[][..]),
            (
                format!("/ipfs/{dag_cbor}"),
                &[("accept", "application/vnd.ipld.dag-json")][..],
            ),
        ] {
            let a = g.get(&path, headers).await;
            assert_eq!(a.status, 406, "{path} {headers:?}");
            assert_eq!(
                serde_json::from_slice::<serde_json::Value>(&a.body).unwrap()["success"],
                false
            );
        }
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_codecs_as_is() {
    for (rel, format, disposition) in [
        (PLAIN_JSON, "json", "inline"),
        (PLAIN_CBOR, "cbor", "attachment"),
    ] {
        let fx = Fixture::open(rel).await;
        let cid = fx.root;
        let block = fx.block(&cid);
        for g in gateways(&[rel]).await {
            let media = format!("application/{format}");
            for (path, headers) in [
                (format!("/ipfs/{cid}"), vec![]),
                (format!("/ipfs/{cid}?format={format}"), vec![]),
                (format!("/ipfs/{cid}"), vec![("accept", media.as_str())]),
            ] {
                let a = g.get(&path, &headers).await;
                assert_eq!(a.status, 200, "{:?} {path}", g.kind);
                assert_eq!(a.header("content-type"), media);
                assert!(
                    a.header("content-disposition")
                        .contains(&format!("{disposition}; filename=\"{cid}.{format}\""))
                );
                assert_eq!(a.body, block);
                let mut ranged = headers.clone();
                ranged.push(("range", "bytes=1-3"));
                let a = g.get(&path, &ranged).await;
                assert_eq!(a.status, 206);
                assert_eq!(a.body, block.slice(1..4));
            }
            g.app.stop().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pathing_through_dag_links() {
    let json = Fixture::open(DAG_JSON).await.root;
    let cbor = Fixture::open(DAG_CBOR).await.root;
    for g in gateways(&[DAG_JSON, DAG_CBOR]).await {
        let a = g
            .get(&format!("/ipfs/{json}/foo?format=dag-json"), &[])
            .await;
        assert_eq!(a.status, 501, "{:?}", g.kind);
        let a = g
            .get(&format!("/ipfs/{json}/foo/link/bar?format=dag-json"), &[])
            .await;
        assert_eq!(a.status, 200);
        let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(v, serde_json::json!({"hello": "this is not a link"}));
        assert_eq!(
            g.get(&format!("/ipfs/{json}/foo/i-do-not-exist"), &[])
                .await
                .status,
            404
        );
        assert_eq!(
            g.get(&format!("/ipfs/{cbor}/foo?format=dag-cbor"), &[])
                .await
                .status,
            501
        );
        let a = g
            .get(&format!("/ipfs/{cbor}/foo/link/bar?format=dag-cbor"), &[])
            .await;
        assert_eq!(a.status, 200);
        assert_eq!(
            &a.body[..],
            &[
                0xa1, 0x65, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x72, 0x74, 0x68, 0x69, 0x73, 0x20, 0x69,
                0x73, 0x20, 0x6e, 0x6f, 0x74, 0x20, 0x61, 0x20, 0x6c, 0x69, 0x6e, 0x6b
            ]
        );
        assert_eq!(
            g.get(&format!("/ipfs/{cbor}/foo/i-do-not-exist"), &[])
                .await
                .status,
            404
        );
        g.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_dag_blocks() {
    for (rel, format, disposition) in [
        (DAG_JSON, "json", "inline"),
        (DAG_CBOR, "cbor", "attachment"),
    ] {
        let fx = Fixture::open(rel).await;
        let cid = fx.root;
        let block = fx.block(&cid);
        let dag = format!("application/vnd.ipld.dag-{format}");
        let plain = format!("application/{format}");
        for g in gateways(&[rel]).await {
            for (path, accept, media) in [
                (format!("/ipfs/{cid}"), None, &dag),
                (format!("/ipfs/{cid}?format=dag-{format}"), None, &dag),
                (format!("/ipfs/{cid}"), Some(dag.as_str()), &dag),
                (format!("/ipfs/{cid}?format={format}"), None, &plain),
                (format!("/ipfs/{cid}"), Some(plain.as_str()), &plain),
            ] {
                let headers: Vec<(&str, &str)> =
                    accept.map(|a| ("accept", a)).into_iter().collect();
                let a = g.get(&path, &headers).await;
                assert_eq!(a.status, 200, "{:?} {path} {accept:?}", g.kind);
                assert_eq!(&a.header("content-type"), media, "{path} {accept:?}");
                assert_eq!(a.body, block);
            }
            let a = g.get(&format!("/ipfs/{cid}"), &[("accept", &dag)]).await;
            assert_eq!(a.header("content-length"), block.len().to_string());
            assert!(
                a.header("content-disposition")
                    .contains(&format!("{disposition}; filename=\"{cid}.{format}\""))
            );
            assert!(a.header("etag").contains(&format!("{cid}.dag-{format}")));
            assert!(!a.header("x-ipfs-path").is_empty() && !a.header("x-ipfs-roots").is_empty());
            assert!(
                a.header("cache-control")
                    .contains("public, max-age=29030400, immutable")
            );
            let a = g
                .get(
                    &format!("/ipfs/{cid}?filename=foobar.{format}"),
                    &[("accept", &dag)],
                )
                .await;
            assert!(
                a.header("content-disposition")
                    .contains(&format!("{disposition}; filename=\"foobar.{format}\""))
            );
            let a = g
                .get(
                    &format!("/ipfs/{cid}?filename=foobar.{format}&download=true"),
                    &[("accept", &dag)],
                )
                .await;
            assert!(
                a.header("content-disposition")
                    .contains(&format!("attachment; filename=\"foobar.{format}\""))
            );
            for path in [
                format!("/ipfs/{cid}"),
                format!("/ipfs/{cid}?format=dag-{format}"),
            ] {
                let a = g.request("HEAD", &path, &[]).await;
                assert_eq!(a.status, 200);
                assert!(a.header("content-type").contains(&dag));
                assert_eq!(
                    a.header("content-length"),
                    block.len().to_string(),
                    "HEAD {path}"
                );
            }
            let a = g
                .get(&format!("/ipfs/{cid}/"), &[("accept", "text/html")])
                .await;
            assert_eq!(a.status, 200);
            assert!(a.header("etag").contains("DagIndex-"));
            assert!(a.header("content-type").contains("text/html"));
            assert!(a.header("content-disposition").is_empty());
            assert!(a.text().contains("</html>"));
            let missing = "bafkreibyl3pd2ee5tnqhkzfvl4kbfy2qkyqmjmvt4jcr5c5hm2g4ytnoaq";
            let a = g
                .request(
                    "HEAD",
                    &format!("/ipfs/{missing}"),
                    &[("cache-control", "only-if-cached")],
                )
                .await;
            assert_eq!(a.status, 412);
            let a = g
                .get(&format!("/ipfs/{cid}/"), &[("range", "bytes=2-5")])
                .await;
            assert_eq!(a.status, 206);
            assert_eq!(a.body, block.slice(2..6));
            g.app.stop().await;
        }
    }
}
