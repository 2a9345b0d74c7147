//! Pagination for list endpoints: `?limit=N` with a cursor (`after` for keys and revisions,
//! `before` for rollouts, which list newest first). Each page says where the next starts,
//! or that there is none.

use rampart_model::ErrorCode;
use serde::Deserialize;

use crate::error::ApiError;

/// The most a page may hold.
pub const MAX_PAGE: u32 = 1_000;

/// `?after=KEY&limit=N`, for lists ordered by key (flags, segments).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyPage {
    /// Start after this key: the previous page's `next`.
    pub after: Option<String>,
    /// At most this many (1,000 by default).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// `?after=REVISION&limit=N`, for histories (oldest first).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RevisionPage {
    /// Start after this revision: the previous page's `next`.
    pub after: Option<u64>,
    /// At most this many (1,000 by default).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// The page size asked for, or `default`; 1 to [`MAX_PAGE`].
pub fn limit(requested: Option<u32>, default: u32) -> Result<u32, ApiError> {
    let limit = requested.unwrap_or(default);
    if limit == 0 || limit > MAX_PAGE {
        return Err(ApiError::bad_request(
            ErrorCode::InvalidQuery,
            Some("limit"),
            format!("limit must be 1 to {MAX_PAGE}, got {limit}"),
        ));
    }
    Ok(limit)
}

/// Takes at most `limit` of `items`; the cursor of the last one taken when more remain.
pub fn take<T, C>(
    items: impl Iterator<Item = T>,
    limit: u32,
    cursor: impl Fn(&T) -> C,
) -> (Vec<T>, Option<C>) {
    let mut items = items.peekable();
    let page: Vec<T> = items.by_ref().take(limit as usize).collect();
    let next = if items.peek().is_some() {
        page.last().map(cursor)
    } else {
        None
    };
    (page, next)
}
