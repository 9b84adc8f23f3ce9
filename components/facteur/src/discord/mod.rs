//! Discord's interaction model (what Discord POSTs) and response builders (what we answer).

mod interaction;
pub mod multipart;
pub mod rate_limit;
mod response;
pub mod snowflake;

pub use interaction::*;
pub use response::*;
pub use snowflake::is_snowflake;
