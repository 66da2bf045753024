//! IPNS records (path_gateway_ipns, trustless_gateway_ipns): records signed elsewhere, with
//! Ed25519 and RSA keys, put through `routing/put` after verification, then resolved by
//! `/ipns/` and returned as-is by `?format=ipns-record`; broken records (a bad V2
//! signature, V1 fields that disagree with the signed data, V1 only) are refused.

use super::*;
use ipfs_mcp::backend::ipns_record;
use libp2p_identity::Keypair;
use std::time::Duration;

fn rsa_key() -> Keypair {
    let mut der = std::fs::read(format!(
        "{}/fixtures/ipns/rsa-2048.pk8",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Keypair::rsa_from_pkcs8(&mut der).unwrap()
}

fn record(key: &Keypair, value: &str, sequence: u64) -> Vec<u8> {
    let validity = (chrono::Utc::now() + chrono::Duration::hours(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    ipns_record::build(key, value, &validity, sequence, Duration::from_secs(300)).unwrap()
}

async fn put(g: &Gateway, name: &str, record: Vec<u8>) -> reqwest::Response {
    g.app
        .client
        .post(g.app.api(&format!("ipfs/routing/put?arg=/ipns/{name}")))
        .header("content-type", "application/octet-stream")
        .body(record)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_signed_elsewhere_are_verified_stored_and_served() {
    for g in gateways(&[]).await {
        if g.kind == BackendKind::Kubo {
            // js-ipfs keeps no records offline (routing/put needs a DHT): simulation only
            g.app.stop().await;
            continue;
        }
        let cid = g.app.add(b"named content", "cid-version=1").await["cid"]
            .as_str()
            .unwrap()
            .to_string();
        for key in [Keypair::generate_ed25519(), rsa_key()] {
            let name = ipns_record::ipns_name(&key.public().to_peer_id());
            let signed = record(&key, &format!("/ipfs/{cid}"), 1);
            let res = put(&g, &name, signed.clone()).await;
            assert_eq!(res.status(), 200, "{name}: {}", res.text().await.unwrap());
            let a = g.get(&format!("/ipns/{name}"), &[]).await;
            assert_eq!(a.status, 200, "{name}");
            assert_eq!(a.text(), "named content");
            assert_eq!(a.header("cache-control"), "public, max-age=300");
            let a = g
                .get(&format!("/ipns/{name}?format=ipns-record"), &[])
                .await;
            assert_eq!(a.status, 200);
            assert_eq!(a.header("content-type"), "application/vnd.ipfs.ipns-record");
            assert_eq!(&a.body[..], &signed[..], "the record as signed");
            let a = g
                .get(
                    &format!("/ipns/{name}"),
                    &[("accept", "application/vnd.ipfs.ipns-record")],
                )
                .await;
            assert_eq!(&a.body[..], &signed[..]);
            // an older sequence does not replace a newer one
            let res = put(&g, &name, record(&key, "/ipfs/bafkqaaa", 0)).await;
            assert_eq!(res.status(), 409);
        }
        // RSA names are sha2-256 peer ids: k2k4...
        assert!(ipns_record::ipns_name(&rsa_key().public().to_peer_id()).starts_with("k2k4"));

        let key = Keypair::generate_ed25519();
        let name = ipns_record::ipns_name(&key.public().to_peer_id());
        let good = record(&key, &format!("/ipfs/{cid}"), 1);
        let mut bad_sig = good.clone();
        let at = bad_sig.len() - 40; // inside the V2 signature, before the data field
        bad_sig[at] ^= 0xff;
        // V1's value (the first field) changed: V2 still verifies, but the two disagree
        let mut v1_mismatch = good.clone();
        assert_eq!(v1_mismatch[0], 0x0a);
        v1_mismatch[2 + 7] ^= 0x01;
        let other = ipns_record::ipns_name(&Keypair::generate_ed25519().public().to_peer_id());
        for (what, name, bytes) in [
            ("a tampered record", name.as_str(), bad_sig),
            ("another key's record", other.as_str(), good.clone()),
            ("not a record", name.as_str(), b"junk".to_vec()),
            ("V1 and V2 disagreeing", name.as_str(), v1_mismatch),
        ] {
            let res = put(&g, name, bytes).await;
            assert_eq!(res.status(), 400, "{what}");
        }
        assert_eq!(
            g.get(&format!("/ipns/{name}"), &[]).await.status,
            404,
            "nothing was stored"
        );
        g.app.stop().await;
    }
}
