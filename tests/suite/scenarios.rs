//! Scenario captures.
