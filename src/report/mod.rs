//! Reports, the last stage: what people read. [`format`] turns numbers into text for people
//! (significant digits, signed percentages, p-values, thousands) and aligns columns; [`table`]
//! prints query results, rounded for a terminal or at full precision as CSV and JSON. The
//! analyses' text reports and the command line both use these, so a figure looks the same
//! wherever it is shown.

pub mod format;
pub mod table;
