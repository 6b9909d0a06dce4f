//! Configuration, read once from the environment into a typed struct.

use std::{env, fmt};

pub const HELP: &str = "\
shop: an online shop with cookie sessions and tokens, side by side.

USAGE: shop [--help]

Configuration comes from the environment:
  LEPTOS_SITE_ADDR       address to listen on                  [default: 127.0.0.1:3000]
  LEPTOS_SITE_ROOT       folder of the built site (pkg/, images) [default: target/site]
  DATABASE_URL           sqlite://FILE or postgres://…; SQLite files are created and
                         migrated at start                     [default: sqlite://shop.db]
  JWT_SECRET             secret for signing tokens, at least 32 bytes; when unset a random
                         one is made on first start and kept in the database
  SESSION_TTL_SECS       idle lifetime of a session cookie       [default: 604800 (7 days)]
  SESSION_ABSOLUTE_TTL_SECS  longest a signed-in session lasts, however active
                         [default: 2592000 (30 days)]
  TOKEN_TTL_SECS         lifetime of a token                     [default: 3600 (1 hour)]
  COOKIE_SECURE          true: cookies only over HTTPS           [default: false]
  CORS_ALLOWED_ORIGINS   comma-separated origins allowed to call /api/v1 [default: none]
  AUTH_RATE_WINDOW_SECS  window in which sign-in and registration attempts are counted
                                                                 [default: 900 (15 minutes)]
  AUTH_RATE_PER_CLIENT   attempts allowed per client address in a window   [default: 50]
  AUTH_RATE_PER_ACCOUNT  attempts allowed per email address in a window; a
                         successful sign-in clears the count               [default: 10]
  TRUST_FORWARDED_FOR    true: the client address is the last one in X-Forwarded-For
                         (only behind a proxy of yours that sets it)       [default: false]
  RUST_LOG               log filter                              [default: info]
";

#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: String,
    pub jwt_secret: Option<String>,
    pub session_ttl_secs: i64,
    pub session_absolute_secs: i64,
    pub token_ttl_secs: i64,
    pub cookie_secure: bool,
    pub cors_allowed_origins: Vec<String>,
    pub auth_limits: AuthLimits,
    pub trust_forwarded_for: bool,
}

/// How many sign-in and registration attempts a client, and an account, get per window.
#[derive(Clone, Debug)]
pub struct AuthLimits {
    pub window_secs: i64,
    pub per_client: u32,
    pub per_account: u32,
}

#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration error: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://shop.db".to_string(),
            jwt_secret: None,
            session_ttl_secs: 7 * 24 * 3600,
            session_absolute_secs: 30 * 24 * 3600,
            token_ttl_secs: 3600,
            cookie_secure: false,
            cors_allowed_origins: Vec::new(),
            auth_limits: AuthLimits { window_secs: 900, per_client: 50, per_account: 10 },
            trust_forwarded_for: false,
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let get = |name: &str| lookup(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let seconds = |name: &str, default: i64| -> Result<i64, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(text) => match text.parse::<i64>() {
                    Ok(n) if (1..=10 * 365 * 24 * 3600).contains(&n) => Ok(n),
                    _ => {
                        Err(ConfigError(format!("{name} must be a positive number of seconds, got {text:?}")))
                    }
                },
            }
        };
        let flag = |name: &str, default: bool| -> Result<bool, ConfigError> {
            match get(name).as_deref() {
                None => Ok(default),
                Some("1" | "true" | "yes") => Ok(true),
                Some("0" | "false" | "no") => Ok(false),
                Some(other) => Err(ConfigError(format!("{name} must be true or false, got {other:?}"))),
            }
        };
        let count = |name: &str, default: u32| -> Result<u32, ConfigError> {
            match get(name) {
                None => Ok(default),
                Some(text) => match text.parse::<u32>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => {
                        Err(ConfigError(format!("{name} must be a whole number of at least 1, got {text:?}")))
                    }
                },
            }
        };
        let cookie_secure = flag("COOKIE_SECURE", defaults.cookie_secure)?;
        let database_url = get("DATABASE_URL").unwrap_or(defaults.database_url);
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError("DATABASE_URL must start with sqlite: or postgres://".to_string()));
        }
        let jwt_secret = get("JWT_SECRET");
        if let Some(secret) = &jwt_secret {
            if secret.len() < 32 {
                return Err(ConfigError("JWT_SECRET must be at least 32 bytes long".to_string()));
            }
        }
        Ok(Config {
            database_url,
            jwt_secret,
            session_ttl_secs: seconds("SESSION_TTL_SECS", defaults.session_ttl_secs)?,
            session_absolute_secs: seconds("SESSION_ABSOLUTE_TTL_SECS", defaults.session_absolute_secs)?,
            token_ttl_secs: seconds("TOKEN_TTL_SECS", defaults.token_ttl_secs)?,
            cookie_secure,
            cors_allowed_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|v| v.split(',').map(|o| o.trim().to_string()).filter(|o| !o.is_empty()).collect())
                .unwrap_or_default(),
            auth_limits: AuthLimits {
                window_secs: seconds("AUTH_RATE_WINDOW_SECS", defaults.auth_limits.window_secs)?,
                per_client: count("AUTH_RATE_PER_CLIENT", defaults.auth_limits.per_client)?,
                per_account: count("AUTH_RATE_PER_ACCOUNT", defaults.auth_limits.per_account)?,
            },
            trust_forwarded_for: flag("TRUST_FORWARDED_FOR", defaults.trust_forwarded_for)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_are_documented_values() {
        let config = read(&[]).unwrap();
        assert_eq!(config.database_url, "sqlite://shop.db");
        assert_eq!(config.session_ttl_secs, 604800);
        assert_eq!(config.token_ttl_secs, 3600);
        assert!(!config.cookie_secure);
    }

    #[test]
    fn bad_values_are_refused_with_the_variable_named() {
        assert!(read(&[("SESSION_TTL_SECS", "-5")]).unwrap_err().0.contains("SESSION_TTL_SECS"));
        assert!(read(&[("COOKIE_SECURE", "maybe")]).unwrap_err().0.contains("COOKIE_SECURE"));
        assert!(read(&[("JWT_SECRET", "short")]).unwrap_err().0.contains("JWT_SECRET"));
        assert!(read(&[("DATABASE_URL", "mysql://x")]).is_err());
        assert!(read(&[("AUTH_RATE_PER_CLIENT", "0")]).unwrap_err().0.contains("AUTH_RATE_PER_CLIENT"));
        assert!(read(&[("TRUST_FORWARDED_FOR", "perhaps")]).unwrap_err().0.contains("TRUST_FORWARDED_FOR"));
    }
}
