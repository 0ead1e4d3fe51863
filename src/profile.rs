//! The two wire profiles (spec `wire.md` §1, §8).

use std::fmt;

/// Which schema and RPC a stream speaks. A client speaks exactly one; an intake may serve both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// `StatefulLogsService/LogsStream` with `Datum` (the default).
    #[default]
    V1,
    /// `StatefulIntake/StatefulStream` with `LogDatum`.
    V2,
}

impl Profile {
    /// Both profiles, `v1` first.
    pub const ALL: [Profile; 2] = [Profile::V1, Profile::V2];

    /// The full gRPC method path of this profile.
    pub const fn path(self) -> &'static str {
        match self {
            Profile::V1 => "/datadog.intake.stateful.StatefulLogsService/LogsStream",
            Profile::V2 => "/datadog.intake.stateful.StatefulIntake/StatefulStream",
        }
    }

    /// The profile whose method path is `path`, if any.
    pub fn from_path(path: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.path() == path)
    }

    /// `v1` or `v2`.
    pub const fn name(self) -> &'static str {
        match self {
            Profile::V1 => "v1",
            Profile::V2 => "v2",
        }
    }

    /// The other profile (named in the explanation of a `WrongProfile` halt).
    pub const fn other(self) -> Profile {
        match self {
            Profile::V1 => Profile::V2,
            Profile::V2 => Profile::V1,
        }
    }

    /// Whether an empty snapshot is sent as batch 0 by default (`transport.md` §8.1).
    pub const fn default_send_empty_snapshot(self) -> bool {
        matches!(self, Profile::V2)
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Profile {
    type Err = crate::ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "v1" => Ok(Profile::V1),
            "v2" => Ok(Profile::V2),
            _ => Err(crate::ConfigError::new("profile", format!("unknown profile {s:?}; use v1 or v2"))),
        }
    }
}
