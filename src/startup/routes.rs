//! The only route table ([`routes`]: every URL the service answers, the `/api/v0/mcp/*`
//! routes, the gateway and Kubo's RPC API) and, beside it, what each route asks of a caller
//! ([`ACCESS`]).

use crate::controllers::{self as c, rpc};
use crate::models::auth::scope::{Access, Scope};
use actix_web::middleware::from_fn;
use actix_web::web;

/// What each route asks of a caller when `auth.enabled`: the longest prefix that matches whole
/// path segments wins. A path not listed needs `admin`, so a route added here without an entry
/// is closed, not open.
pub const ACCESS: &[(&str, Access)] = &{
    use Access::{Authenticated, Gateway, Public, Scoped};
    use Scope::{Admin, Pin, Read, Write};
    [
        ("/api/v0/health", Public),
        ("/api/v0/mcp/health", Public),
        ("/metrics", Scoped(Read)),
        ("/openapi.json", Public),
        ("/docs", Public),
        ("/ipfs", Gateway),
        ("/ipns", Gateway),
        ("/api/v0/mcp/auth/token", Authenticated),
        // the Model Context Protocol: a credential to connect; each tool then needs the access
        // of the route its operation is (controllers::mcp_tools)
        ("/mcp", Authenticated),
        // each call is checked against its own operation's route (controllers::batch)
        ("/api/v0/mcp/batch", Authenticated),
        ("/api/v0/mcp/auth/revoke", Authenticated),
        ("/api/v0/mcp/auth/keys", Scoped(Admin)),
        ("/api/v0/mcp/debug", Scoped(Admin)),
        ("/api/v0/mcp/operations", Scoped(Admin)),
        ("/api/v0/mcp/cache/clear", Scoped(Admin)),
        ("/api/v0/mcp/cli/config", Scoped(Admin)),
        ("/api/v0/mcp/cache/stats", Scoped(Read)),
        ("/api/v0/mcp/cache/metadata", Scoped(Read)),
        ("/api/v0/mcp/stream/media", Scoped(Read)),
        ("/api/v0/mcp/stream/to-ipfs", Scoped(Write)),
        ("/api/v0/mcp/ipfs/cat", Scoped(Read)),
        ("/api/v0/mcp/ipfs/get", Scoped(Read)),
        ("/api/v0/mcp/ipfs/block/get", Scoped(Read)),
        ("/api/v0/mcp/ipfs/block/stat", Scoped(Read)),
        ("/api/v0/mcp/ipfs/dag/get", Scoped(Read)),
        ("/api/v0/mcp/ipfs/dag/resolve", Scoped(Read)),
        ("/api/v0/mcp/ipfs/dag/export", Scoped(Read)),
        ("/api/v0/mcp/ipfs/name/resolve", Scoped(Read)),
        ("/api/v0/mcp/ipfs/routing/get", Scoped(Read)),
        ("/api/v0/mcp/ipfs/dht", Scoped(Read)),
        ("/api/v0/mcp/ipfs/id", Scoped(Read)),
        ("/api/v0/mcp/ipfs/version", Scoped(Read)),
        ("/api/v0/mcp/ipfs/stats", Scoped(Read)),
        ("/api/v0/mcp/ipfs/pin/ls", Scoped(Read)),
        ("/api/v0/mcp/ipfs/pins", Scoped(Read)),
        ("/api/v0/mcp/ipfs/add", Scoped(Write)),
        ("/api/v0/mcp/ipfs/block/put", Scoped(Write)),
        ("/api/v0/mcp/ipfs/dag/put", Scoped(Write)),
        ("/api/v0/mcp/ipfs/dag/import", Scoped(Write)),
        ("/api/v0/mcp/ipfs/name/publish", Scoped(Write)),
        ("/api/v0/mcp/ipfs/routing/put", Scoped(Write)),
        ("/api/v0/mcp/ipfs/pin", Scoped(Pin)),
        ("/api/v0/mcp/ipfs/unpin", Scoped(Pin)),
        // Kubo's RPC API (`rpc_routes`): the same scopes as the MCP routes doing the same
        ("/api/v0/add", Scoped(Write)),
        ("/api/v0/cat", Scoped(Read)),
        ("/api/v0/get", Scoped(Read)),
        ("/api/v0/ls", Scoped(Read)),
        ("/api/v0/refs", Scoped(Read)),
        ("/api/v0/files/stat", Scoped(Read)),
        ("/api/v0/pin/add", Scoped(Pin)),
        ("/api/v0/pin/rm", Scoped(Pin)),
        ("/api/v0/pin/update", Scoped(Pin)),
        ("/api/v0/pin/ls", Scoped(Read)),
        ("/api/v0/pin/verify", Scoped(Read)),
        ("/api/v0/block/put", Scoped(Write)),
        ("/api/v0/block/get", Scoped(Read)),
        ("/api/v0/block/stat", Scoped(Read)),
        ("/api/v0/block/rm", Scoped(Admin)),
        ("/api/v0/dag/put", Scoped(Write)),
        ("/api/v0/dag/import", Scoped(Write)),
        ("/api/v0/dag/get", Scoped(Read)),
        ("/api/v0/dag/resolve", Scoped(Read)),
        ("/api/v0/dag/export", Scoped(Read)),
        ("/api/v0/dag/stat", Scoped(Read)),
        ("/api/v0/name/publish", Scoped(Write)),
        ("/api/v0/name/resolve", Scoped(Read)),
        ("/api/v0/routing", Scoped(Read)),
        ("/api/v0/routing/put", Scoped(Write)),
        ("/api/v0/dht", Scoped(Read)),
        ("/api/v0/dht/put", Scoped(Write)),
        ("/api/v0/id", Scoped(Read)),
        ("/api/v0/version", Scoped(Read)),
        ("/api/v0/repo/stat", Scoped(Read)),
        ("/api/v0/stats", Scoped(Read)),
    ]
};

/// The access `path` needs (see [`ACCESS`]): the table as a tree of path segments, walked
/// with the path's segments; the last entry passed is the longest match. (A scan of every
/// entry was 2% of an authenticated cat; hashing the path's prefixes, deepest first, 74 ns;
/// this walk compares a few short segments: `cargo bench --bench auth_path -- access_of`.)
pub fn access_of(path: &str) -> Access {
    #[derive(Default)]
    struct Node {
        /// The entry ending here, if one does.
        entry: Option<(&'static str, Access)>,
        children: hashbrown::HashMap<&'static [u8], Node>,
    }
    thread_local! {
        /// The last leaf entry this worker matched: a path under a leaf needs no walk (nothing
        /// deeper can match), and the next request is most often to the same route.
        static LAST_LEAF: std::cell::Cell<Option<(&'static str, Access)>> =
            const { std::cell::Cell::new(None) };
    }
    if let Some((prefix, access)) = LAST_LEAF.get()
        && let Some(rest) = path.strip_prefix(prefix)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        return access;
    }
    static TREE: std::sync::OnceLock<Node> = std::sync::OnceLock::new();
    let tree = TREE.get_or_init(|| {
        let mut root = Node::default();
        for (prefix, access) in ACCESS {
            let mut node = &mut root;
            for segment in prefix.as_bytes().split(|b| *b == b'/').skip(1) {
                node = node.children.entry(segment).or_default();
            }
            node.entry = Some((prefix, *access));
        }
        root
    });
    let mut node = tree;
    let mut found = None;
    // the path starts with `/`: its first piece is empty
    let mut segments = path.as_bytes().split(|b| *b == b'/').skip(1);
    // a leaf ends the walk before the rest of the path (a CID, a file path) is scanned
    while !node.children.is_empty() {
        let Some(child) = segments.next().and_then(|s| node.children.get(s)) else {
            break;
        };
        node = child;
        found = child.entry.or(found);
    }
    if node.children.is_empty() && found.is_some() {
        LAST_LEAF.set(found);
    }
    found.map_or(Access::Scoped(Scope::Admin), |(_, access)| access)
}

/// The `/mcp` service ([`c::mcp_tools::http_service`]), built once for all workers.
pub type McpService = rmcp_actix_web::transport::StreamableHttpService<c::mcp_tools::McpServer>;

/// The route table: every URL the service answers.
pub fn routes(cfg: &mut web::ServiceConfig, mcp: Option<McpService>) {
    // The hot reads first: actix tries services in order, and reaching these through the
    // nested `/api/v0/mcp` and `/ipfs` scopes cost a route match per entry before them.
    // Static prefixes, not `{path:.+}`: actix matches dynamic patterns with a regex engine,
    // measured at a quarter of the CPU of a cached 4 KiB cat. `POST ipfs/cat` (inline JSON)
    // comes before the prefix that would otherwise take it.
    cfg.route("/api/v0/mcp/ipfs/cat", web::post().to(c::content::cat_json));
    cfg.service(web::scope("/api/v0/mcp/ipfs/cat").default_service(web::to(c::content::cat_tail)));
    cfg.service(web::scope("/api/v0/mcp/ipfs/get").default_service(web::to(c::content::get_tail)));
    cfg.route("/api/v0/health", web::get().to(c::system::health));
    cfg.route("/metrics", web::get().to(c::system::metrics));
    // the IPFS path gateway (static prefix, as cat: no regex matching)
    cfg.service(
        web::scope("/ipfs")
            .wrap(from_fn(c::gateway::cors::headers))
            .default_service(web::to(c::gateway::ipfs_path)),
    );
    cfg.service(
        web::scope("/ipns")
            .wrap(from_fn(c::gateway::cors::headers))
            .default_service(web::to(c::gateway::ipns_path)),
    );
    cfg.service(
        web::scope("/api/v0/mcp")
            .route("/health", web::get().to(c::system::health_mcp))
            .route("/cli/config", web::get().to(c::config::show))
            .route("/cli/config/save", web::post().to(c::config::save))
            .route("/cli/config/validate", web::post().to(c::config::validate))
            .route("/cli/config/convert", web::post().to(c::config::convert))
            .route("/cli/config/update", web::post().to(c::config::update))
            .route("/auth/token", web::post().to(c::auth::token))
            .route("/auth/revoke", web::post().to(c::auth::revoke))
            .route("/auth/keys", web::get().to(c::auth::list_keys))
            .route("/auth/keys", web::post().to(c::auth::create_key))
            .route("/auth/keys/{id}", web::delete().to(c::auth::revoke_key))
            .route(
                "/auth/keys/{id}/revoke",
                web::post().to(c::auth::revoke_key_post),
            )
            .route("/batch", web::post().to(c::batch::batch))
            .route("/debug", web::get().to(c::system::debug))
            .route("/operations", web::get().to(c::system::operations))
            .route("/cache/stats", web::get().to(c::cache::stats))
            .route("/stream/to-ipfs", web::post().to(c::add::to_ipfs))
            .service(web::scope("/stream/media").default_service(web::to(c::gateway::stream_media)))
            .route("/cache/clear", web::post().to(c::cache::clear))
            .route("/cache/metadata", web::get().to(c::cache::metadata))
            .service(web::scope("/cache/metadata").default_service(web::to(c::cache::metadata_row)))
            .service(
                web::scope("/ipfs")
                    .route("/add", web::post().to(c::add::add))
                    .route("/add/json", web::post().to(c::add::add_json))
                    .route("/add/file", web::post().to(c::add::add_file))
                    .route("/pin/add", web::post().to(c::pin::add))
                    .route("/pin", web::post().to(c::pin::add_alias))
                    .route("/pin/rm", web::post().to(c::pin::rm))
                    .route("/unpin", web::post().to(c::pin::rm_alias))
                    .route("/pin/ls", web::get().to(c::pin::ls))
                    .route("/pins", web::get().to(c::pin::ls_alias))
                    .route("/block/put", web::post().to(c::block::put))
                    .route("/dag/put", web::post().to(c::dag::put))
                    .route("/dag/import", web::post().to(c::dag::import))
                    .route("/name/publish", web::post().to(c::name::publish))
                    .route("/name/resolve", web::get().to(c::name::resolve))
                    .route("/routing/put", web::post().to(c::name::routing_put))
                    .route("/routing/get", web::get().to(c::name::routing_get))
                    .route("/dht/findprovs", web::get().to(c::name::findprovs))
                    .route("/dht/findprovs", web::post().to(c::name::findprovs))
                    .route("/dht/findpeer", web::get().to(c::name::findpeer))
                    .route("/dht/findpeer", web::post().to(c::name::findpeer))
                    .route("/id", web::get().to(c::node::id))
                    .route("/version", web::get().to(c::node::version))
                    .route("/stats", web::get().to(c::node::stats))
                    // Dynamic patterns last: actix tries routes in order and matches these with a
                    // regex, so static routes above never pay for them.
                    .route("/block/get/{cid}", web::get().to(c::block::get))
                    .route("/block/stat/{cid}", web::get().to(c::block::stat))
                    .route("/dag/get/{path:.+}", web::get().to(c::dag::get))
                    .route("/dag/resolve/{path:.+}", web::get().to(c::dag::resolve))
                    .route("/dag/export/{cid}", web::get().to(c::dag::export)),
            ),
    );
    rpc_routes(cfg);
    // the Model Context Protocol, streamable HTTP (GET, POST, DELETE; rmcp answers them)
    if let Some(mcp) = mcp {
        cfg.service(web::scope("/mcp").service(mcp.scope()));
    }
    cfg.route("/openapi.json", web::get().to(c::openapi::openapi_json));
    cfg.route("/docs", web::get().to(c::openapi::docs));
    cfg.service(c::openapi::docs_ui());
}

/// Kubo's RPC API under `/api/v0` (`controllers::rpc`): POST commands, Kubo's error body on
/// every failure, and Kubo's 404 for a command not listed. Registered after the `/api/v0/mcp`
/// scope, which keeps its own paths.
fn rpc_routes(cfg: &mut web::ServiceConfig) {
    use rpc::command;
    cfg.service(
        web::scope("/api/v0")
            .wrap(from_fn(rpc::kubo_errors))
            .service(command("/cat", rpc::content::cat))
            .service(command("/add", rpc::content::add))
            .service(command("/get", rpc::content::get))
            .service(command("/ls", rpc::content::ls))
            .service(command("/refs", rpc::content::refs))
            .service(command("/files/stat", rpc::content::files_stat))
            .service(command("/pin/add", rpc::pins::add))
            .service(command("/pin/rm", rpc::pins::rm))
            .service(command("/pin/ls", rpc::pins::ls))
            .service(command("/pin/update", rpc::pins::update))
            .service(command("/pin/verify", rpc::pins::verify))
            .service(command("/block/put", rpc::blocks::put))
            .service(command("/block/get", rpc::blocks::get))
            .service(command("/block/stat", rpc::blocks::stat))
            .service(command("/block/rm", rpc::blocks::rm))
            .service(command("/dag/put", rpc::dag::put))
            .service(command("/dag/get", rpc::dag::get))
            .service(command("/dag/resolve", rpc::dag::resolve))
            .service(command("/dag/import", rpc::dag::import))
            .service(command("/dag/export", rpc::dag::export))
            .service(command("/dag/stat", rpc::dag::stat))
            .service(command("/name/publish", rpc::names::publish))
            .service(command("/name/resolve", rpc::names::resolve))
            .service(command("/routing/findprovs", rpc::names::findprovs))
            .service(command("/routing/findpeer", rpc::names::findpeer))
            .service(command("/routing/get", rpc::names::get))
            .service(command("/routing/put", rpc::names::put))
            .service(command("/dht/findprovs", rpc::names::findprovs))
            .service(command("/dht/findpeer", rpc::names::findpeer))
            .service(command("/dht/get", rpc::names::get))
            .service(command("/dht/put", rpc::names::put))
            .service(command("/id", rpc::node::id))
            .service(command("/version", rpc::node::version))
            .service(command("/repo/stat", rpc::node::repo_stat))
            .service(command("/stats/repo", rpc::node::repo_stat))
            .service(command("/stats/bw", rpc::node::stats_bw))
            .default_service(web::to(rpc::unknown_command)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_is_the_longest_listed_prefix_at_a_segment_boundary() {
        use Access::*;
        let a = access_of;
        assert_eq!(a("/api/v0/mcp/ipfs/cat/Qm123/a/b"), Scoped(Scope::Read));
        assert_eq!(a("/api/v0/mcp/ipfs/cat"), Scoped(Scope::Read));
        assert_eq!(a("/api/v0/mcp/ipfs/pin/add"), Scoped(Scope::Pin));
        assert_eq!(a("/api/v0/mcp/ipfs/pin/ls"), Scoped(Scope::Read));
        assert_eq!(a("/api/v0/mcp/ipfs/pins"), Scoped(Scope::Read));
        assert_eq!(a("/api/v0/mcp/ipfs/pinsx"), Scoped(Scope::Admin));
        assert_eq!(a("/api/v0/mcp/ipfs/add/json"), Scoped(Scope::Write));
        assert_eq!(a("/ipfs/bafy/x"), Gateway);
        assert_eq!(a("/ipfsx"), Scoped(Scope::Admin));
        assert_eq!(a("/api/v0/health"), Public);
        assert_eq!(a("/"), Scoped(Scope::Admin));
        assert_eq!(a(""), Scoped(Scope::Admin));
        assert_eq!(a("/api/v0/mcp/auth/keys/abc/revoke"), Scoped(Scope::Admin));
    }
}
