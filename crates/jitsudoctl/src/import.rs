//! `policy import-sudoers`: the converter of `jitsudo-sudoers`, fed with
//! the files sudo would read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use jitsudo_policy::Source;
use jitsudo_sudoers::{import, includedir_reads, Include};

/// Converts `file` (and what it includes) to a policy on stdout; the
/// constructs not converted faithfully go to stderr.
pub fn run(file: &Path) -> ExitCode {
    let main = match std::fs::read_to_string(file) {
        Ok(text) => Source {
            name: file.display().to_string(),
            text,
        },
        Err(e) => {
            eprintln!("jitsudoctl: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let conversion = import(&main, &mut read_include);
    print!("{}", conversion.toml);
    for note in &conversion.unconverted {
        eprintln!("{note}");
    }
    ExitCode::SUCCESS
}

/// Reads what an `@include`/`@includedir` names, as sudo would.
fn read_include(include: &Include) -> Result<Vec<Source>, String> {
    let read = |path: PathBuf| {
        std::fs::read_to_string(&path)
            .map(|text| Source {
                name: path.display().to_string(),
                text,
            })
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    if !include.dir {
        return read(PathBuf::from(&include.path)).map(|s| vec![s]);
    }
    let Ok(entries) = std::fs::read_dir(&include.path) else {
        return Ok(Vec::new());
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(includedir_reads)
        })
        .collect();
    paths.sort();
    paths.into_iter().map(read).collect()
}
