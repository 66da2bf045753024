//! The configuration as a document (the seed's feature 10): the effective settings shown,
//! saved, validated and converted as JSON, YAML or TOML. Secrets are `<redacted>` unless asked
//! for; a document is checked by loading it exactly as `--config` would (defaults, then the
//! document), so an error names the field it is about and a saved file loads back to the same
//! settings.

use super::{ConfigError, Settings};
use figment::Figment;
use figment::providers::{Format as _, Json, Serialized, Toml, Yaml};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Yaml,
    Toml,
}

impl Format {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        match text.to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "yaml" | "yml" => Ok(Self::Yaml),
            "toml" => Ok(Self::Toml),
            other => Err(ConfigError(format!(
                "unknown format {other:?}: expected json, yaml or toml"
            ))),
        }
    }

    /// The format a file name says (`.toml`, `.yaml`/`.yml`, `.json`).
    pub fn of_path(path: &Path) -> Option<Self> {
        Self::parse(path.extension()?.to_str()?).ok()
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Yaml => "yaml",
            Self::Toml => "toml",
        }
    }
}

/// One thing wrong with a document: the dotted path of the field, and what is wrong.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl Settings {
    /// As a JSON value; secrets only with `include_secrets`.
    pub fn to_value(&self, include_secrets: bool) -> serde_json::Value {
        let render = || serde_json::to_value(self).unwrap_or_default();
        if include_secrets {
            crate::secret::exposed(render)
        } else {
            render()
        }
    }

    /// As a document in `format`; secrets only with `include_secrets`.
    pub fn render(&self, format: Format, include_secrets: bool) -> Result<String, ConfigError> {
        let value = self.to_value(include_secrets);
        let bad = |e: &dyn std::fmt::Display| ConfigError(format!("cannot render: {e}"));
        match format {
            Format::Json => serde_json::to_string_pretty(&value).map_err(|e| bad(&e)),
            Format::Yaml => serde_yaml::to_string(&value).map_err(|e| bad(&e)),
            // TOML has no null: absent options are left out, as a hand-written file would
            Format::Toml => toml::to_string_pretty(&strip_nulls(value)).map_err(|e| bad(&e)),
        }
    }

    /// The settings a document gives (over the defaults), or every field that is wrong.
    pub fn from_document(text: &str, format: Format) -> Result<Settings, Vec<FieldError>> {
        let base = Figment::from(Serialized::defaults(Settings::default()));
        let figment = match format {
            Format::Json => base.merge(Json::string(text)),
            Format::Yaml => base.merge(Yaml::string(text)),
            Format::Toml => base.merge(Toml::string(text)),
        };
        let settings = figment.extract::<Settings>().map_err(|e| {
            e.into_iter()
                .map(|e| FieldError {
                    field: if e.path.is_empty() {
                        "(document)".into()
                    } else {
                        e.path.join(".")
                    },
                    message: e.kind.to_string(),
                })
                .collect::<Vec<_>>()
        })?;
        // what parses but would not start: the same checks start-up makes
        if let Err(e) = crate::telemetry::traces::check(&settings.telemetry) {
            return Err(vec![FieldError {
                field: e.field().into(),
                message: e.to_string(),
            }]);
        }
        if let Some(Err(e)) = settings
            .telemetry
            .log_level
            .as_deref()
            .map(crate::telemetry::parse_level)
        {
            return Err(vec![FieldError {
                field: "telemetry.log_level".into(),
                message: e.to_string(),
            }]);
        }
        Ok(settings)
    }
}

fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Where `requested` may be written: inside `root` (the data dir's `config/`), never outside
/// it. A relative path is taken below `root`; an absolute one must already be below it.
pub fn save_target(root: &Path, requested: &str) -> Result<PathBuf, ConfigError> {
    let requested = Path::new(requested);
    if requested
        .components()
        .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(ConfigError("config_path may not contain `..`".into()));
    }
    let target = if requested.is_absolute() {
        requested.to_path_buf()
    } else {
        root.join(requested)
    };
    if !target.starts_with(root) || target == root {
        return Err(ConfigError(format!(
            "config_path must name a file under {}",
            root.display()
        )));
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_round_trips_and_secrets_are_redacted() {
        let mut s = Settings::default();
        s.server.port = 9123;
        s.auth.jwt_secret = Some(crate::secret::Secret::new("s3cret"));
        s.backend.kubo.authorization = Some(crate::secret::Secret::new("Bearer tok"));
        for format in [Format::Json, Format::Yaml, Format::Toml] {
            let redacted = s.render(format, false).unwrap();
            assert!(!redacted.contains("s3cret") && !redacted.contains("Bearer tok"));
            assert!(redacted.contains("<redacted>"), "{format:?}: {redacted}");
            let full = s.render(format, true).unwrap();
            let back = Settings::from_document(&full, format).unwrap();
            assert_eq!(back.to_value(true), s.to_value(true), "{format:?}");
        }
    }

    #[test]
    fn errors_name_the_field() {
        for (doc, field) in [
            ("[server]\nport = \"eighty\"\n", "server.port"),
            ("[auth]\ndefault_rate = \"5/week\"\n", "auth.default_rate"),
            (
                "[telemetry]\notlp_endpoint = \"ftp://collector\"\n",
                "telemetry.otlp_endpoint",
            ),
            (
                "[telemetry]\notlp_endpoint = \"http://c:4318\"\ntrace_sample_ratio = 2.0\n",
                "telemetry.trace_sample_ratio",
            ),
            (
                "[telemetry]\nlog_level = \"ipfs_mcp=loud\"\n",
                "telemetry.log_level",
            ),
        ] {
            let errors = Settings::from_document(doc, Format::Toml).unwrap_err();
            assert_eq!(errors[0].field, field, "{errors:?}");
            assert!(!errors[0].message.is_empty());
        }
        let errors = Settings::from_document("{\"cache\": {\"memory_limit\": -1}}", Format::Json)
            .unwrap_err();
        assert_eq!(errors[0].field, "cache.memory_limit", "{errors:?}");
        assert!(Settings::from_document("server: [", Format::Yaml).is_err());
    }

    #[test]
    fn saves_stay_under_the_config_dir() {
        let root = Path::new("/data/config");
        assert_eq!(
            save_target(root, "a.toml").unwrap(),
            Path::new("/data/config/a.toml")
        );
        assert!(save_target(root, "/data/config/sub/b.yaml").is_ok());
        for bad in ["../x.toml", "/etc/passwd", "/data/config", "a/../../b"] {
            assert!(save_target(root, bad).is_err(), "{bad}");
        }
    }
}
