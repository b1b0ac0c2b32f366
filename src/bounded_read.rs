//! Reading a file a person controls without trusting it: a regular file only (a FIFO, a
//! device or a `/proc` file is refused before it is opened, since opening a FIFO blocks),
//! checked again on the opened handle, and never more than a cap read from the disk. The
//! knowledge base's files and the configuration's secret files are both read this way.

use std::fs::{File, Metadata};
use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum BoundedReadError {
    Io(std::io::Error),
    /// A folder, a FIFO, a socket or a device.
    NotRegular {
        is_dir: bool,
    },
    /// Larger than the cap.
    TooLarge,
}

/// The bytes of the regular file at `path`, at most `max` of them, with the metadata of what
/// was opened.
///
/// A file swapped for a FIFO between the check and the opening could still block the
/// opening; that needs write access to the folder and exact timing.
pub fn read_regular(path: &Path, max: u64) -> Result<(Vec<u8>, Metadata), BoundedReadError> {
    let regular = |metadata: &Metadata| {
        if metadata.is_file() {
            Ok(())
        } else {
            Err(BoundedReadError::NotRegular {
                is_dir: metadata.is_dir(),
            })
        }
    };
    regular(&std::fs::metadata(path).map_err(BoundedReadError::Io)?)?;
    let file = File::open(path).map_err(BoundedReadError::Io)?;
    // The path may have been swapped between the two looks: what was opened decides.
    let metadata = file.metadata().map_err(BoundedReadError::Io)?;
    regular(&metadata)?;
    if metadata.len() > max {
        return Err(BoundedReadError::TooLarge);
    }
    let mut bytes = Vec::new();
    // A file that grows while it is read stops at the cap.
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(BoundedReadError::Io)?;
    if bytes.len() as u64 > max {
        return Err(BoundedReadError::TooLarge);
    }
    Ok((bytes, metadata))
}
