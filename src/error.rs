//! The configuration error shared by every constructor of the core.

/// A setting that cannot work, named, with what is wrong and how to fix it.
///
/// Returned by constructors and by `update_endpoint`; an invalid combination can never be
/// constructed. The message never contains an API key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {message}")]
pub struct ConfigError {
    /// The setting at fault, e.g. `endpoints[1].api_key` or `drain_timeout`.
    pub setting: String,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl ConfigError {
    /// A new error for `setting`.
    pub fn new(setting: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { setting: setting.into(), message: message.into() }
    }
}
