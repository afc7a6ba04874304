//! `rpmdb.sqlite` reader: written in the next step.
use crate::{Package, Problem};

pub(crate) fn parse(_data: &[u8], _path: &str) -> Result<Vec<Package>, Problem> {
    Err(Problem::corrupt(
        "reading rpmdb.sqlite is not implemented yet",
    ))
}
