//! Integration tests of vigil-policy: the scenario suite of issue 8 (each test named for the
//! rule it checks), the model's contracts, `policy show`, and a property test against a
//! brute-force reference evaluator.

mod model;
mod reference;
mod scenarios;
mod show;
mod support;
