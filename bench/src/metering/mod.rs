//! What AWS bills, counted locally: DynamoDB's item size ([`units`]) and an item store that
//! charges every call its capacity units from the real item sizes ([`store`]). The scale
//! simulator reads them per partition and second, the cost benchmark per action.

pub mod store;
pub mod units;
