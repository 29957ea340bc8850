//! Finding a module that DKMS built, for `milspecctl install --from-dkms`.
//!
//! DKMS keeps every build in its tree (`/var/lib/dkms` by default):
//!
//! ```text
//! <tree>/milspec/<package version>/<kernel release>/<arch>/module/dell_milspec.ko
//! ```
//!
//! (`.ko.xz`/`.ko.zst`/`.ko.gz` when the kernel compresses its modules). This
//! module only reads that layout; building stays DKMS's job.

use crate::store::compare_versions;
use std::path::{Path, PathBuf};

/// DKMS's name of the package (dkms.conf's `PACKAGE_NAME`).
pub const PACKAGE_NAME: &str = "milspec";

/// Why no usable DKMS build was found.
#[derive(Debug, thiserror::Error)]
pub enum DkmsError {
    #[error("{tree}: no DKMS package {PACKAGE_NAME} in this DKMS tree (run dkms add first)")]
    NoPackage { tree: String },
    #[error(
        "{tree}: {PACKAGE_NAME} {version} is not in this DKMS tree (versions there: {available})"
    )]
    NoVersion {
        tree: String,
        version: String,
        available: String,
    },
    #[error(
        "DKMS has not built {PACKAGE_NAME} {versions} for kernel {kernel} ({arch}) in {tree}; \
         built for: {built} (run: dkms autoinstall -k {kernel}, or dkms build -m {PACKAGE_NAME} \
         -v VERSION -k {kernel})"
    )]
    NotBuilt {
        tree: String,
        versions: String,
        kernel: String,
        arch: String,
        built: String,
    },
    #[error(
        "{path} is compressed; milspecctl stores uncompressed modules: decompress it \
         (e.g. xz -dk / zstd -d) and use milspecctl install FILE"
    )]
    Compressed { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A module that DKMS built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DkmsBuild {
    /// The DKMS package version (`-v`).
    pub package_version: String,
    /// The kernel release it was built for (`-k`).
    pub kernel: String,
    pub path: PathBuf,
}

fn names(dir: &Path) -> Result<Vec<String>, DkmsError> {
    let rd = std::fs::read_dir(dir).map_err(|source| DkmsError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for e in rd {
        let e = e.map_err(|source| DkmsError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        // Skip DKMS's own links (`source`, `kernel-<release>-<arch>`).
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

/// The build of package `version` (default: the newest version built for
/// `kernel`) for `kernel` on this machine's architecture, in DKMS tree `tree`.
pub fn find_build(
    tree: &Path,
    kernel: &str,
    version: Option<&str>,
) -> Result<DkmsBuild, DkmsError> {
    let arch = std::env::consts::ARCH;
    let pkg = tree.join(PACKAGE_NAME);
    if !pkg.is_dir() {
        return Err(DkmsError::NoPackage {
            tree: tree.display().to_string(),
        });
    }
    let mut versions = names(&pkg)?;
    versions.sort_by(|a, b| compare_versions(a, b));
    if let Some(v) = version {
        if !versions.iter().any(|x| x == v) {
            return Err(DkmsError::NoVersion {
                tree: tree.display().to_string(),
                version: v.to_owned(),
                available: list_or_none(&versions),
            });
        }
        versions.retain(|x| x == v);
    }
    let module_dir = |v: &str| pkg.join(v).join(kernel).join(arch).join("module");
    for v in versions.iter().rev() {
        let dir = module_dir(v);
        let plain = dir.join(crate::store::KO_NAME);
        if plain.is_file() {
            return Ok(DkmsBuild {
                package_version: v.clone(),
                kernel: kernel.to_owned(),
                path: plain,
            });
        }
        for ext in ["xz", "zst", "gz"] {
            let p = dir.join(format!("{}.{ext}", crate::store::KO_NAME));
            if p.is_file() {
                return Err(DkmsError::Compressed {
                    path: p.display().to_string(),
                });
            }
        }
    }
    // Nothing for this kernel: say what there is.
    let mut built = Vec::new();
    for v in &versions {
        for k in names(&pkg.join(v)).unwrap_or_default() {
            if pkg.join(v).join(&k).join(arch).join("module").is_dir() {
                built.push(format!("{v}/{k}"));
            }
        }
    }
    Err(DkmsError::NotBuilt {
        tree: tree.display().to_string(),
        versions: if version.is_some() {
            list_or_none(&versions)
        } else {
            "(any version)".into()
        },
        kernel: kernel.to_owned(),
        arch: arch.to_owned(),
        built: list_or_none(&built),
    })
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_ko;

    fn put(tree: &Path, version: &str, kernel: &str, file: &str) -> PathBuf {
        let dir = tree
            .join(PACKAGE_NAME)
            .join(version)
            .join(kernel)
            .join(std::env::consts::ARCH)
            .join("module");
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(file);
        std::fs::write(&p, fake_ko::dell_milspec_for(version, "X", kernel)).unwrap();
        p
    }

    #[test]
    fn finds_the_newest_build_for_the_kernel() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        put(t, "0.1.0", "6.12.117", "dell_milspec.ko");
        put(t, "0.1.1", "6.12.117", "dell_milspec.ko");
        let k2 = put(t, "0.1.0", "6.12.117-upgrade", "dell_milspec.ko");
        // DKMS's own entries next to the builds are not builds.
        std::fs::create_dir_all(t.join("milspec/0.1.0/build")).unwrap();
        std::os::unix::fs::symlink("/nonexistent", t.join("milspec/0.1.0/source")).unwrap();

        let b = find_build(t, "6.12.117", None).unwrap();
        assert_eq!(
            (b.package_version.as_str(), b.kernel.as_str()),
            ("0.1.1", "6.12.117")
        );
        let b = find_build(t, "6.12.117", Some("0.1.0")).unwrap();
        assert_eq!(b.package_version, "0.1.0");
        let b = find_build(t, "6.12.117-upgrade", None).unwrap();
        assert_eq!((b.package_version.as_str(), b.path), ("0.1.0", k2));
    }

    #[test]
    fn says_what_is_missing() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path();
        let e = find_build(t, "6.12.117", None).unwrap_err();
        assert!(matches!(e, DkmsError::NoPackage { .. }), "{e}");
        put(t, "0.1.0", "6.12.117", "dell_milspec.ko");
        let e = find_build(t, "6.13.0", None).unwrap_err().to_string();
        assert!(
            e.contains("not built")
                && e.contains("6.13.0")
                && e.contains("0.1.0/6.12.117")
                && e.contains("dkms autoinstall -k 6.13.0"),
            "{e}"
        );
        let e = find_build(t, "6.12.117", Some("9.9.9"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("9.9.9") && e.contains("versions there: 0.1.0"),
            "{e}"
        );
        put(t, "0.2.0", "6.14.0", "dell_milspec.ko.zst");
        let e = find_build(t, "6.14.0", None).unwrap_err();
        assert!(matches!(e, DkmsError::Compressed { .. }), "{e}");
    }
}
