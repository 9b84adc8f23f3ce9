//! Discord snowflakes: the ids of interactions, applications, guilds, channels, users and
//! roles. They are unsigned 64-bit integers written in decimal, so anything else (a path
//! segment such as `../../users/@me`, a sign, spaces, a number past `u64::MAX`) is not an id and
//! must not reach a Discord URL or a key.

/// The longest decimal `u64` (`18446744073709551615`).
pub const MAX_SNOWFLAKE_LEN: usize = 20;

/// Whether `id` is a snowflake: 1 to 20 ASCII digits whose value fits in a `u64`.
pub fn is_snowflake(id: &str) -> bool {
    (1..=MAX_SNOWFLAKE_LEN).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()) && id.parse::<u64>().is_ok()
}

/// Discord's epoch (2015-01-01), in Unix milliseconds.
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// When the object of snowflake `id` was created, in Unix seconds (its top 42 bits are
/// milliseconds since Discord's epoch).
pub fn created_at(id: &str) -> Option<u64> {
    let id: u64 = id.parse().ok().filter(|_| is_snowflake(id))?;
    Some(((id >> 22) + DISCORD_EPOCH_MS) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snowflake_tells_when_it_was_created() {
        // Discord's documentation example: 175928847299117063 is 2016-04-30 11:18:25.796 UTC.
        assert_eq!(created_at("175928847299117063"), Some(1_462_015_105));
        assert_eq!(created_at("not an id"), None);
    }

    #[test]
    fn snowflakes_are_decimal_u64s() {
        for id in ["0", "7", "1190000000000000001", "18446744073709551615", "00000000000000000001"] {
            assert!(is_snowflake(id), "{id}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for id in [
            "",
            "18446744073709551616",  // u64::MAX + 1
            "99999999999999999999",  // 20 digits, too large
            "000000000000000000001", // 21 characters
            "../../users/@me",
            "123/messages",
            "+123",
            "-1",
            " 123",
            "123 ",
            "12a3",
            "１２３", // full-width digits are not ASCII
            "1e3",
            "0x10",
            "123\n",
            "123%2F",
        ] {
            assert!(!is_snowflake(id), "{id:?}");
        }
    }
}
