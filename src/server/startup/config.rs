//! Settings of the running server: `Leptos.toml` (its `[textpeak]` table and its
//! `[package.metadata.leptos]` table), overridden by environment variables.
//! A bad setting stops the start with a message that names it.

use crate::domain::crypto::{MasterKey, MasterKeyError};
use crate::domain::password;
use crate::server::startup::files;
use ipnet::IpNet;
use leptos::config::LeptosOptions;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG_FILE: &str = "Leptos.toml";

#[derive(Debug, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct ConfigError {
    pub setting: String,
    pub problem: String,
}

impl ConfigError {
    fn new(setting: impl Into<String>, problem: impl ToString) -> Self {
        Self { setting: setting.into(), problem: problem.to_string() }
    }
}

/// The `[textpeak]` table; unknown keys are refused so a typo is not silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    database_url: Option<String>,
    data_dir: Option<PathBuf>,
    public_url: Option<String>,
    secure_cookies: Option<bool>,
    trusted_proxies: Option<Vec<String>>,
    db_pool: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    textpeak: FileSettings,
}

#[derive(Debug)]
pub struct Settings {
    pub leptos: LeptosOptions,
    pub database_url: String,
    pub data_dir: PathBuf,
    pub master_key: MasterKey,
    /// The console's public origin (`https://console.example.com`) behind a
    /// reverse proxy; `None` means "the Host the request came to".
    pub public_origin: Option<String>,
    /// `TEXTPEAK_SECURE_COOKIES` as set; unset, each request decides (see
    /// [`Settings::secure_cookies_for`]).
    pub secure_cookies: Option<bool>,
    /// The first admin's password on first start; generated and printed when unset.
    pub admin_password: Option<String>,
    pub trusted_proxies: Vec<IpNet>,
    /// Connections the database pool keeps (`TEXTPEAK_DB_POOL`); `None` for the default.
    pub db_pool: Option<u32>,
    /// How long a proof of identity (signing in, Confirm access) lets a
    /// session show tokens, roll, delete and change the team without asking again.
    pub confirm_access_secs: u64,
    /// How long a PostgreSQL instance answers from memory without hearing the
    /// database (`TEXTPEAK_STALE_LIMIT_SECONDS`); past it, 503 until it hears again.
    pub stale_limit: std::time::Duration,
    /// Audit entries older than this many days are deleted (`TEXTPEAK_AUDIT_RETENTION_DAYS`).
    pub audit_retention_days: u64,
    /// Where Prometheus scrapes `/metrics` (`TEXTPEAK_METRICS_ADDR`); no metrics when unset.
    pub metrics_addr: Option<SocketAddr>,
}

/// The metrics address: never the console's, whose port the public reaches.
fn metrics_address(addr: &str, console: SocketAddr) -> Result<SocketAddr, String> {
    let parsed: SocketAddr =
        addr.parse().map_err(|_| format!("{addr:?} is not an address and port such as 127.0.0.1:9464"))?;
    if parsed.port() == console.port()
        && (parsed.ip() == console.ip() || parsed.ip().is_unspecified() || console.ip().is_unspecified())
    {
        return Err(format!("{addr} is the console's own address; give metrics a port of their own"));
    }
    Ok(parsed)
}

/// `TEXTPEAK_CONFIRM_ACCESS_SECONDS` when unset: GitHub's sudo mode lasts as long.
pub const DEFAULT_CONFIRM_ACCESS_SECS: u64 = 900;

/// Reads environment variables through a function so tests need not touch the process environment.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    pub fn load() -> Result<Self, ConfigError> {
        Self::load_with(&process_env)
    }

    pub fn load_with(env: Env) -> Result<Self, ConfigError> {
        let explicit = env("TEXTPEAK_CONFIG");
        let path = PathBuf::from(explicit.clone().unwrap_or_else(|| DEFAULT_CONFIG_FILE.to_owned()));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => Some(text),
            Err(e) if explicit.is_none() && e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(ConfigError::new(format!("TEXTPEAK_CONFIG ({})", path.display()), e)),
        };
        let site_addr = env("LEPTOS_SITE_ADDR")
            .map(|addr| {
                addr.parse::<SocketAddr>().map_err(|_| {
                    ConfigError::new(
                        "LEPTOS_SITE_ADDR",
                        format!("{addr:?} is not an address and port such as 127.0.0.1:3000"),
                    )
                })
            })
            .transpose()?;
        let mut leptos = match &text {
            Some(text) => leptos::config::get_config_from_str(text),
            None => leptos::config::get_configuration(None).map(|c| c.leptos_options),
        }
        .map_err(|e| ConfigError::new(format!("{} [package.metadata.leptos]", path.display()), e))?;
        if let Some(addr) = site_addr {
            leptos.site_addr = addr;
        }
        let file: ConfigFile = match &text {
            Some(text) => toml::from_str(text)
                .map_err(|e| ConfigError::new(format!("{} [textpeak]", path.display()), e.message()))?,
            None => ConfigFile::default(),
        };

        let data_dir = env("TEXTPEAK_DATA_DIR")
            .map(PathBuf::from)
            .or(file.textpeak.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let database_url = env("DATABASE_URL")
            .or(file.textpeak.database_url)
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("textpeak.db").display()));
        check_database_url(&database_url)?;
        let master_key = match env("TEXTPEAK_MASTER_KEY") {
            Some(encoded) => {
                MasterKey::from_base64(&encoded).map_err(|e| ConfigError::new("TEXTPEAK_MASTER_KEY", e))?
            }
            None => load_or_create_key_file(&data_dir.join("master.key"))?,
        };
        let public_origin = env("TEXTPEAK_PUBLIC_URL")
            .or(file.textpeak.public_url)
            .map(|url| {
                origin_of(&url).ok_or_else(|| {
                    ConfigError::new(
                        "TEXTPEAK_PUBLIC_URL",
                        format!("{url:?} is not an http:// or https:// address such as https://console.example.com"),
                    )
                })
            })
            .transpose()?;
        let secure_cookies = match env("TEXTPEAK_SECURE_COOKIES") {
            Some(value) => Some(parse_bool(&value).ok_or_else(|| {
                ConfigError::new("TEXTPEAK_SECURE_COOKIES", format!("{value:?} is not true or false"))
            })?),
            None => file.textpeak.secure_cookies,
        };
        let admin_password = env("TEXTPEAK_ADMIN_PASSWORD");
        if let Some(p) = &admin_password {
            password::check_new(p).map_err(|e| ConfigError::new("TEXTPEAK_ADMIN_PASSWORD", e))?;
        }
        let trusted_proxies = match env("TEXTPEAK_TRUSTED_PROXIES") {
            Some(list) => parse_networks(list.split([',', ' ']).filter(|s| !s.is_empty()))
                .map_err(|e| ConfigError::new("TEXTPEAK_TRUSTED_PROXIES", e))?,
            None => parse_networks(file.textpeak.trusted_proxies.iter().flatten().map(String::as_str))
                .map_err(|e| ConfigError::new(format!("{} [textpeak] trusted-proxies", path.display()), e))?,
        };
        let db_pool = match env("TEXTPEAK_DB_POOL") {
            Some(value) => Some(parse_pool(&value).map_err(|e| ConfigError::new("TEXTPEAK_DB_POOL", e))?),
            None => file
                .textpeak
                .db_pool
                .map(|n| parse_pool(&n.to_string()))
                .transpose()
                .map_err(|e| ConfigError::new(format!("{} [textpeak] db-pool", path.display()), e))?,
        };
        let confirm_access_secs =
            whole(env, "TEXTPEAK_CONFIRM_ACCESS_SECONDS", "seconds", DEFAULT_CONFIRM_ACCESS_SECS, 1..=86_400)?;
        let stale_limit =
            std::time::Duration::from_secs(whole(env, "TEXTPEAK_STALE_LIMIT_SECONDS", "seconds", 30, 1..=3600)?);
        let audit_retention_days = whole(env, "TEXTPEAK_AUDIT_RETENTION_DAYS", "days", 400, 1..=36_500)?;
        let metrics_addr = env("TEXTPEAK_METRICS_ADDR")
            .map(|addr| metrics_address(&addr, leptos.site_addr))
            .transpose()
            .map_err(|e| ConfigError::new("TEXTPEAK_METRICS_ADDR", e))?;
        Ok(Settings {
            metrics_addr,
            confirm_access_secs,
            stale_limit,
            audit_retention_days,
            leptos,
            database_url,
            data_dir,
            master_key,
            public_origin,
            secure_cookies,
            admin_password,
            trusted_proxies,
            db_pool,
        })
    }

    /// Whether cookies get `Secure` and the `__Host-` prefix. Browsers keep
    /// Secure cookies only over HTTPS, so: as configured; else when the
    /// browser came over HTTPS (a trusted proxy says so, `via_https`, or the
    /// public URL is https); else off loopback. Plain `http://127.0.0.1`
    /// keeps working for local use.
    pub fn secure_cookies_for(&self, via_https: bool) -> bool {
        self.secure_cookies.unwrap_or_else(|| {
            via_https
                || self.public_origin.as_deref().is_some_and(|o| o.starts_with("https://"))
                || !self.leptos.site_addr.ip().is_loopback()
        })
    }

    /// Does a request's `Host` name this console? Its public URL's host, the
    /// address it listens on, and, when that is loopback, every loopback form
    /// (`localhost`, `127.x.y.z`, `[::1]`). Listening on all interfaces
    /// without a public URL, any address but no other name. A name that is
    /// not on the list is how DNS rebinding reaches a console, so it is refused.
    pub fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = host_name(host) else { return false };
        if let Some(public) = &self.public_origin
            && public.split_once("://").and_then(|(_, rest)| host_name(rest)).is_some_and(|p| p == name)
        {
            return true;
        }
        let site = self.leptos.site_addr.ip();
        match name.parse::<std::net::IpAddr>() {
            Ok(ip) => site.is_unspecified() || ip == site || (site.is_loopback() && ip.is_loopback()),
            Err(_) => name == "localhost" && (site.is_loopback() || site.is_unspecified()),
        }
    }

    /// The console's public origin, or `fallback` (the request's own) when none is set.
    pub fn public_origin_or(&self, fallback: &str) -> String {
        self.public_origin.clone().unwrap_or_else(|| fallback.to_owned())
    }

    /// The SQLite file's folder, which must exist before the first connection.
    pub fn sqlite_dir(&self) -> Option<PathBuf> {
        self.sqlite_file()?.parent().map(Path::to_path_buf)
    }

    /// The SQLite database file, unless the database is PostgreSQL or in memory.
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite://")?;
        let path = rest.split('?').next()?;
        if path.is_empty() || path.contains(":memory:") {
            return None;
        }
        Some(PathBuf::from(path))
    }
}

/// The host name of a `Host` header (or of an origin without its scheme):
/// lower case, without port or IPv6 brackets; `None` if it is not one.
fn host_name(host: &str) -> Option<String> {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split_once(']')?.0
    } else {
        host.rsplit_once(':')
            .map_or(host, |(name, port)| if port.bytes().all(|b| b.is_ascii_digit()) { name } else { host })
    };
    (!name.is_empty() && name.len() <= 253).then(|| name.to_ascii_lowercase())
}

/// `scheme://host[:port]` of an http(s) URL, without path or trailing slash.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
        return None;
    }
    Some(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

/// A pool of 1 to 500 connections; PostgreSQL's own limit is usually 100 in all.
fn parse_pool(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(n) if (1..=500).contains(&n) => Ok(n),
        _ => Err(format!("{value:?} is not a number of connections from 1 to 500")),
    }
}

/// A whole number of `unit`s within `range`, from the environment, or `default`.
fn whole(
    env: Env,
    name: &str,
    unit: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Result<u64, ConfigError> {
    match env(name) {
        None => Ok(default),
        Some(value) => match value.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(ConfigError::new(
                name,
                format!("{value:?} is not a number of {unit} from {} to {}", range.start(), range.end()),
            )),
        },
    }
}

fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// CIDRs or single addresses.
fn parse_networks<'a>(items: impl Iterator<Item = &'a str>) -> Result<Vec<IpNet>, String> {
    items
        .map(|item| {
            let item = item.trim();
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not an address or CIDR"))
        })
        .collect()
}

fn check_database_url(url: &str) -> Result<(), ConfigError> {
    let known = ["sqlite:", "postgres://", "postgresql://"];
    if known.iter().any(|scheme| url.starts_with(scheme)) {
        Ok(())
    } else {
        Err(ConfigError::new("DATABASE_URL", "must start with sqlite:, postgres:// or postgresql://"))
    }
}

/// Reads the master key file, or creates it (mode 0600, in a folder made
/// 0700) on first start. It protects every token, so a key file that is a
/// symbolic link, not a regular file, owned by another user or readable by
/// others is refused, with the fix in the message.
pub fn load_or_create_key_file(path: &Path) -> Result<MasterKey, ConfigError> {
    let setting = || format!("master key file {}", path.display());
    match files::read_private(path).map_err(|problem| ConfigError::new(setting(), problem))? {
        Some(encoded) => MasterKey::from_base64(&encoded).map_err(|e: MasterKeyError| ConfigError::new(setting(), e)),
        None => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                files::create_private_dir(dir).map_err(|e| ConfigError::new(setting(), e))?;
            }
            let encoded = MasterKey::generate_base64().map_err(|e| ConfigError::new(setting(), e))?;
            files::write_private(path, &encoded).map_err(|e| ConfigError::new(setting(), e))?;
            tracing::info!(path = %path.display(), "created a new master key file; back it up with the database");
            MasterKey::from_base64(&encoded).map_err(|e| ConfigError::new(setting(), e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn defaults_keep_everything_in_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let env =
            env_of(&[("TEXTPEAK_CONFIG", "Leptos.toml".into()), ("TEXTPEAK_DATA_DIR", data.display().to_string())]);
        let settings = Settings::load_with(&env).unwrap();
        assert_eq!(settings.database_url, format!("sqlite://{}?mode=rwc", data.join("textpeak.db").display()));
        assert_eq!(settings.sqlite_dir().unwrap(), data);
        assert_eq!(settings.leptos.site_addr.to_string(), "127.0.0.1:3000");
    }

    #[test]
    fn metrics_have_an_address_of_their_own() {
        let console: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert_eq!(metrics_address("127.0.0.1:9464", console).unwrap().to_string(), "127.0.0.1:9464");
        assert!(metrics_address("127.0.0.1:3000", console).unwrap_err().contains("console's own address"));
        assert!(metrics_address("0.0.0.0:3000", console).unwrap_err().contains("console's own address"));
        assert!(metrics_address("9464", console).unwrap_err().contains("such as 127.0.0.1:9464"));
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let env = env_of(&[
            ("TEXTPEAK_CONFIG", "Leptos.toml".into()),
            ("TEXTPEAK_DATA_DIR", data),
            ("TEXTPEAK_METRICS_ADDR", "localhost".into()),
        ]);
        let refused = Settings::load_with(&env).err().unwrap().to_string();
        assert!(refused.contains("TEXTPEAK_METRICS_ADDR"), "{refused}");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/master.key");
        load_or_create_key_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let first = std::fs::read_to_string(&path).unwrap();
        load_or_create_key_file(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
    }

    #[cfg(unix)]
    #[test]
    fn key_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        load_or_create_key_file(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create_key_file(&path).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_that_is_a_link_or_not_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.key");
        load_or_create_key_file(&real).unwrap();
        let link = dir.path().join("master.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = load_or_create_key_file(&link).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("master key file {}", link.display())) && err.contains("symbolic link"),
            "{err}"
        );
        let folder = dir.path().join("folder.key");
        std::fs::create_dir(&folder).unwrap();
        let err = load_or_create_key_file(&folder).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn key_file_owned_by_another_user_is_refused() {
        // Only root can give a file away; as anyone else the check is shown by
        // the owner comparison alone.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("not root: cannot make a file owned by another user here");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        load_or_create_key_file(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let err = load_or_create_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("owned by user 65534") && err.contains("chown"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn the_data_folder_is_created_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data/master.key");
        load_or_create_key_file(&path).unwrap();
        let mode = std::fs::metadata(dir.path().join("data")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    #[test]
    fn bad_settings_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let cases = [
            ("TEXTPEAK_MASTER_KEY", "short", "TEXTPEAK_MASTER_KEY"),
            ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
            ("LEPTOS_SITE_ADDR", "localhost", "LEPTOS_SITE_ADDR"),
            ("TEXTPEAK_CONFIG", "/nonexistent/Leptos.toml", "TEXTPEAK_CONFIG"),
            ("TEXTPEAK_PUBLIC_URL", "console.example.com", "TEXTPEAK_PUBLIC_URL"),
            ("TEXTPEAK_SECURE_COOKIES", "maybe", "TEXTPEAK_SECURE_COOKIES"),
            ("TEXTPEAK_ADMIN_PASSWORD", "short", "TEXTPEAK_ADMIN_PASSWORD"),
            ("TEXTPEAK_TRUSTED_PROXIES", "10.0.0.0/8, proxy.local", "TEXTPEAK_TRUSTED_PROXIES"),
            ("TEXTPEAK_DB_POOL", "0", "TEXTPEAK_DB_POOL"),
            ("TEXTPEAK_DB_POOL", "many", "TEXTPEAK_DB_POOL"),
        ];
        for (name, value, expected) in cases {
            let env = env_of(&[("TEXTPEAK_DATA_DIR", data.clone()), (name, value.into())]);
            let err = Settings::load_with(&env).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{name}: {err}");
        }
    }

    #[test]
    fn unknown_keys_in_the_textpeak_table_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("Leptos.toml");
        std::fs::write(
            &file,
            "[textpeak]\ndatabase-ulr = \"x\"\n\n[package.metadata.leptos]\noutput-name = \"textpeak\"\n",
        )
        .unwrap();
        let env = env_of(&[
            ("TEXTPEAK_CONFIG", file.display().to_string()),
            ("TEXTPEAK_DATA_DIR", dir.path().display().to_string()),
        ]);
        let err = Settings::load_with(&env).unwrap_err();
        assert!(err.to_string().contains("database-ulr"), "{err}");
    }

    #[test]
    fn proxy_and_cookie_settings() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let env = env_of(&[
            ("TEXTPEAK_DATA_DIR", data.clone()),
            ("TEXTPEAK_PUBLIC_URL", "https://Console.Example.com/".into()),
            ("TEXTPEAK_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1".into()),
        ]);
        let settings = Settings::load_with(&env).unwrap();
        assert_eq!(settings.public_origin.as_deref(), Some("https://console.example.com"));
        assert!(settings.secure_cookies_for(false), "https public URL means Secure cookies");
        assert_eq!(settings.trusted_proxies.len(), 2);
        // Loopback development without a public URL: plain cookies, or the browser drops them...
        let local = Settings::load_with(&env_of(&[("TEXTPEAK_DATA_DIR", data.clone())])).unwrap();
        assert!(!local.secure_cookies_for(false));
        // ...unless a trusted proxy says the browser came over HTTPS.
        assert!(local.secure_cookies_for(true));
        let forced =
            Settings::load_with(&env_of(&[("TEXTPEAK_DATA_DIR", data), ("TEXTPEAK_SECURE_COOKIES", "false".into())]))
                .unwrap();
        assert!(!forced.secure_cookies_for(true), "an explicit setting wins");
    }

    #[test]
    fn hosts_this_console_answers_to() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().display().to_string();
        let local = Settings::load_with(&env_of(&[("TEXTPEAK_DATA_DIR", data.clone())])).unwrap();
        for host in ["127.0.0.1:3000", "127.0.0.1", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.0.0.2:80"] {
            assert!(local.host_allowed(host), "{host}");
        }
        for host in ["evil.example", "evil.example:3000", "192.0.2.1:3000", "", "localhost.evil.example"] {
            assert!(!local.host_allowed(host), "{host}");
        }
        let proxied = Settings::load_with(&env_of(&[
            ("TEXTPEAK_DATA_DIR", data.clone()),
            ("TEXTPEAK_PUBLIC_URL", "https://console.example.com".into()),
        ]))
        .unwrap();
        assert!(proxied.host_allowed("console.example.com"));
        assert!(proxied.host_allowed("Console.Example.com:443"));
        assert!(!proxied.host_allowed("other.example.com"));
        let everywhere =
            Settings::load_with(&env_of(&[("TEXTPEAK_DATA_DIR", data), ("LEPTOS_SITE_ADDR", "0.0.0.0:3000".into())]))
                .unwrap();
        assert!(everywhere.host_allowed("192.0.2.1:3000"));
        assert!(!everywhere.host_allowed("console.example.com"), "a name needs TEXTPEAK_PUBLIC_URL");
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("http://127.0.0.1:3000").as_deref(), Some("http://127.0.0.1:3000"));
        assert_eq!(origin_of("https://a.example/console"), None);
        assert_eq!(origin_of("ftp://a.example"), None);
        assert_eq!(origin_of("https://"), None);
    }

    /// cargo-leptos reads Cargo.toml, the server reads Leptos.toml: they must agree.
    #[test]
    fn leptos_toml_agrees_with_cargo_toml() {
        let cargo: toml::Value = toml::from_str(&std::fs::read_to_string("Cargo.toml").unwrap()).unwrap();
        let leptos: toml::Value = toml::from_str(&std::fs::read_to_string("Leptos.toml").unwrap()).unwrap();
        let build = &cargo["package"]["metadata"]["leptos"];
        let run = &leptos["package"]["metadata"]["leptos"];
        let run = run.as_table().unwrap();
        assert!(!run.is_empty());
        for (key, value) in run {
            assert_eq!(Some(value), build.get(key), "Leptos.toml key {key} differs from Cargo.toml");
        }
    }
}
