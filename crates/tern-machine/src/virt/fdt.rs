//! The device tree of a `virt` machine, generated from the memory map
//! ([`super::memmap`]) with `vm-fdt`, following the conventions of QEMU's `virt`
//! board so that Linux, OpenSBI and U-Boot find the devices they expect.

use vm_fdt::{Error, FdtWriter};

use super::memmap::{regions, DeviceKind, PLIC_SOURCES};
use tern_hart::clock::TIMEBASE_HZ;

/// What the device tree describes beyond the fixed map.
#[derive(Clone, Debug)]
pub struct FdtConfig {
    /// Number of harts.
    pub harts: u32,
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Kernel command line.
    pub bootargs: String,
    /// Initial RAM disk location (start, end), if any.
    pub initrd: Option<(u64, u64)>,
    /// The ISA string of every hart.
    pub isa: String,
    /// `mmu-type` of every hart.
    pub mmu_type: String,
}

/// The ISA string tern's harts implement, as Linux and OpenSBI parse it.
pub const ISA: &str = "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbs_zicboz_sstc";

const PHANDLE_PLIC: u32 = 1;
const PHANDLE_TEST: u32 = 2;
/// Phandle of hart `n`'s interrupt controller.
fn intc_phandle(hart: u32) -> u32 {
    0x100 + 2 * hart
}
/// Phandle of hart `n`.
fn cpu_phandle(hart: u32) -> u32 {
    0x101 + 2 * hart
}

fn reg(base: u64, size: u64) -> Vec<u64> {
    vec![base, size]
}

/// Builds the DTB.
pub fn build(config: &FdtConfig) -> Result<Vec<u8>, Error> {
    let map = regions(config.ram_size);
    let find = |kind| map.iter().copied().find(|r| r.kind == kind);
    let mut fdt = FdtWriter::new()?;
    let root = fdt.begin_node("")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "riscv-virtio")?;
    fdt.property_string("model", "riscv-virtio,qemu")?;

    let uart = find(DeviceKind::Uart);
    let chosen = fdt.begin_node("chosen")?;
    fdt.property_string("bootargs", &config.bootargs)?;
    if let Some(u) = uart {
        fdt.property_string("stdout-path", &format!("/soc/serial@{:x}", u.base))?;
    }
    if let Some((start, end)) = config.initrd {
        fdt.property_u64("linux,initrd-start", start)?;
        fdt.property_u64("linux,initrd-end", end)?;
    }
    fdt.end_node(chosen)?;

    if let Some(dram) = find(DeviceKind::Dram) {
        let mem = fdt.begin_node(&format!("memory@{:x}", dram.base))?;
        fdt.property_string("device_type", "memory")?;
        fdt.property_array_u64("reg", &reg(dram.base, dram.size))?;
        fdt.end_node(mem)?;
    }

    let cpus = fdt.begin_node("cpus")?;
    fdt.property_u32("#address-cells", 1)?;
    fdt.property_u32("#size-cells", 0)?;
    fdt.property_u32("timebase-frequency", TIMEBASE_HZ as u32)?;
    for hart in 0..config.harts {
        let cpu = fdt.begin_node(&format!("cpu@{hart:x}"))?;
        fdt.property_u32("phandle", cpu_phandle(hart))?;
        fdt.property_string("device_type", "cpu")?;
        fdt.property_u32("reg", hart)?;
        fdt.property_string("status", "okay")?;
        fdt.property_string("compatible", "riscv")?;
        fdt.property_string("riscv,isa", &config.isa)?;
        fdt.property_string("mmu-type", &config.mmu_type)?;
        fdt.property_u32("riscv,cboz-block-size", 64)?;
        let intc = fdt.begin_node("interrupt-controller")?;
        fdt.property_u32("#address-cells", 0)?;
        fdt.property_u32("#interrupt-cells", 1)?;
        fdt.property_null("interrupt-controller")?;
        fdt.property_string("compatible", "riscv,cpu-intc")?;
        fdt.property_u32("phandle", intc_phandle(hart))?;
        fdt.end_node(intc)?;
        fdt.end_node(cpu)?;
    }
    let cpu_map = fdt.begin_node("cpu-map")?;
    let cluster = fdt.begin_node("cluster0")?;
    for hart in 0..config.harts {
        let core = fdt.begin_node(&format!("core{hart}"))?;
        fdt.property_u32("cpu", cpu_phandle(hart))?;
        fdt.end_node(core)?;
    }
    fdt.end_node(cluster)?;
    fdt.end_node(cpu_map)?;
    fdt.end_node(cpus)?;

    let soc = fdt.begin_node("soc")?;
    fdt.property_u32("#address-cells", 2)?;
    fdt.property_u32("#size-cells", 2)?;
    fdt.property_string("compatible", "simple-bus")?;
    fdt.property_null("ranges")?;
    for r in &map {
        match r.kind {
            DeviceKind::Dram => {}
            DeviceKind::Test => {
                let n = fdt.begin_node(&format!("test@{:x}", r.base))?;
                fdt.property_u32("phandle", PHANDLE_TEST)?;
                fdt.property_array_u64("reg", &reg(r.base, r.size))?;
                fdt.property_string_list(
                    "compatible",
                    vec![
                        "sifive,test1".into(),
                        "sifive,test0".into(),
                        "syscon".into(),
                    ],
                )?;
                fdt.end_node(n)?;
            }
            DeviceKind::Rtc => {
                let n = fdt.begin_node(&format!("rtc@{:x}", r.base))?;
                fdt.property_u32("interrupts", r.irq.unwrap_or(0))?;
                fdt.property_u32("interrupt-parent", PHANDLE_PLIC)?;
                fdt.property_array_u64("reg", &reg(r.base, r.size))?;
                fdt.property_string("compatible", "google,goldfish-rtc")?;
                fdt.end_node(n)?;
            }
            DeviceKind::Uart => {
                let n = fdt.begin_node(&format!("serial@{:x}", r.base))?;
                fdt.property_u32("interrupts", r.irq.unwrap_or(0))?;
                fdt.property_u32("interrupt-parent", PHANDLE_PLIC)?;
                fdt.property_u32("clock-frequency", 0x38_4000)?;
                fdt.property_array_u64("reg", &reg(r.base, r.size))?;
                fdt.property_string("compatible", "ns16550a")?;
                fdt.end_node(n)?;
            }
            DeviceKind::VirtioMmio(_) => {
                let n = fdt.begin_node(&format!("virtio_mmio@{:x}", r.base))?;
                fdt.property_u32("interrupts", r.irq.unwrap_or(0))?;
                fdt.property_u32("interrupt-parent", PHANDLE_PLIC)?;
                fdt.property_array_u64("reg", &reg(r.base, r.size))?;
                fdt.property_string("compatible", "virtio,mmio")?;
                fdt.end_node(n)?;
            }
            DeviceKind::Plic => {
                let n = fdt.begin_node(&format!("plic@{:x}", r.base))?;
                fdt.property_u32("phandle", PHANDLE_PLIC)?;
                fdt.property_u32("riscv,ndev", PLIC_SOURCES - 1)?;
                fdt.property_array_u64("reg", &reg(r.base, r.size))?;
                let mut ext = Vec::new();
                for hart in 0..config.harts {
                    // Context 2n is hart n's M-mode (MEI = 11), 2n+1 its S-mode (SEI = 9).
                    ext.extend_from_slice(&[intc_phandle(hart), 11, intc_phandle(hart), 9]);
                }
                fdt.property_array_u32("interrupts-extended", &ext)?;
                fdt.property_null("interrupt-controller")?;
                fdt.property_string_list(
                    "compatible",
                    vec!["sifive,plic-1.0.0".into(), "riscv,plic0".into()],
                )?;
                fdt.property_u32("#address-cells", 0)?;
                fdt.property_u32("#interrupt-cells", 1)?;
                fdt.end_node(n)?;
            }
            DeviceKind::Clint => {
                let n = fdt.begin_node(&format!("clint@{:x}", r.base))?;
                let mut ext = Vec::new();
                for hart in 0..config.harts {
                    // Machine software (3) and machine timer (7) interrupts.
                    ext.extend_from_slice(&[intc_phandle(hart), 3, intc_phandle(hart), 7]);
                }
                fdt.property_array_u32("interrupts-extended", &ext)?;
                fdt.property_array_u64("reg", &reg(r.base, r.size))?;
                fdt.property_string_list(
                    "compatible",
                    vec!["sifive,clint0".into(), "riscv,clint0".into()],
                )?;
                fdt.end_node(n)?;
            }
        }
    }
    fdt.end_node(soc)?;

    let test = map
        .iter()
        .find(|r| r.kind == DeviceKind::Test)
        .map(|r| r.base);
    if test.is_some() {
        for (name, value) in [("poweroff", 0x5555u32), ("reboot", 0x7777)] {
            let n = fdt.begin_node(name)?;
            fdt.property_u32("value", value)?;
            fdt.property_u32("offset", 0)?;
            fdt.property_u32("regmap", PHANDLE_TEST)?;
            fdt.property_string("compatible", &format!("syscon-{name}"))?;
            fdt.end_node(n)?;
        }
    }
    fdt.end_node(root)?;
    fdt.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(harts: u32) -> FdtConfig {
        FdtConfig {
            harts,
            ram_size: 256 << 20,
            bootargs: "console=ttyS0".into(),
            initrd: Some((0x8400_0000, 0x8410_0000)),
            isa: ISA.into(),
            mmu_type: "riscv,sv57".into(),
        }
    }

    #[test]
    fn tree_has_the_devices_of_the_map() {
        let dtb = build(&config(4)).unwrap();
        let tree = fdt::Fdt::new(&dtb).unwrap();
        assert_eq!(tree.cpus().count(), 4);
        assert_eq!(tree.chosen().bootargs(), Some("console=ttyS0"));
        let mem = tree.memory().regions().next().unwrap();
        assert_eq!(mem.starting_address as u64, 0x8000_0000);
        assert_eq!(mem.size, Some(256 << 20));
        assert!(tree.find_node("/soc/serial@10000000").is_some());
        assert!(tree.find_node("/soc/plic@c000000").is_some());
        assert_eq!(
            tree.all_nodes()
                .filter(|n| n.name.starts_with("virtio_mmio@"))
                .count(),
            8
        );
    }
}
