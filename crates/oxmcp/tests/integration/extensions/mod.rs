//! Extensions (SEP-2133): the framework, then each extension the SDK ships.

mod apps;
mod framework;
#[cfg(feature = "skills")]
mod skills;
mod tasks;
