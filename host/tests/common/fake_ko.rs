//! Test helper shared by unit and integration tests: a minimal relocatable ELF
//! with a `.modinfo` section, written with the `object` crate. Included with
//! `#[path]` so that every test builds its modules the same way.

use object::write::Object;
use object::{Architecture, BinaryFormat, Endianness, SectionKind};

/// An ELF object for `arch` whose `.modinfo` holds `entries` (`key=value` each).
pub fn elf_with_modinfo(entries: &[&str], arch: Architecture) -> Vec<u8> {
    let mut obj = Object::new(BinaryFormat::Elf, arch, Endianness::Little);
    let sec = obj.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::Data);
    let mut data = Vec::new();
    for e in entries {
        data.extend_from_slice(e.as_bytes());
        data.push(0);
    }
    obj.append_section_data(sec, &data, 1);
    obj.write().expect("writing an in-memory ELF object")
}

/// A dell_milspec module of `version` (x86_64, vermagic 6.12.117), with `srcversion`.
#[allow(dead_code)] // not every test crate that includes this file uses it
pub fn dell_milspec(version: &str, srcversion: &str) -> Vec<u8> {
    dell_milspec_for(version, srcversion, "6.12.117")
}

/// A dell_milspec module of `version` built for kernel `release` (its vermagic).
#[allow(dead_code)] // not every test crate that includes this file uses it
pub fn dell_milspec_for(version: &str, srcversion: &str, release: &str) -> Vec<u8> {
    let version = format!("version={version}");
    let srcversion = format!("srcversion={srcversion}");
    let vermagic = format!("vermagic={release} SMP mod_unload ");
    elf_with_modinfo(
        &[
            &version,
            "license=GPL",
            &srcversion,
            "name=dell_milspec",
            &vermagic,
        ],
        Architecture::X86_64,
    )
}
