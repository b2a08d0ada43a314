//! Building the virtio devices of a `virt` machine from the command line.

use anyhow::Context;
use tern_devices::virtio::blk::Blk;
use tern_devices::virtio::console::Console;
use tern_devices::virtio::disk::{DiskFormat, DiskHandle, DiskOptions, NamedFiles};
use tern_devices::virtio::net::{Net, NetBackend as Backend};
use tern_devices::virtio::net_slirp::{HostFwd, SlirpBackend, SlirpOptions, DEFAULT_MAX_FLOWS};
use tern_devices::virtio::net_socket::SocketBackend;
use tern_devices::virtio::rng::Rng;
use tern_devices::virtio::{guest_memory, VirtioDevice, VirtioMmio};
use tern_devices::MmioDevice;
use tern_machine::virt::{VirtioContext, VirtioFactory};

use super::spec::{DriveFormat, DriveSpec, NetBackend, NetSpec};

/// Wraps a virtio device in its MMIO transport for a slot.
fn transport<D: VirtioDevice + 'static>(
    ctx: &VirtioContext,
    device: D,
) -> Result<Box<dyn MmioDevice>, String> {
    let mem = guest_memory(&ctx.ram).map_err(|e| e.to_string())?;
    Ok(Box::new(VirtioMmio::new(device, mem, ctx.irq.clone())))
}

/// How to open the disk of a `--drive`.
///
/// Without `format=` the image is raw: the format is never probed, since a guest can
/// write a qcow2 header (naming a host file as backing or data file) into its raw
/// disk. A file without `format=` that starts with qcow2's magic is refused with a
/// hint: it is either a qcow2 image (say `format=qcow2`) or a raw disk whose guest
/// wrote that header (say `format=raw`).
pub fn disk_options(d: &DriveSpec) -> anyhow::Result<DiskOptions> {
    let format = match d.format {
        DriveFormat::Raw => DiskFormat::Raw,
        DriveFormat::Qcow2 => DiskFormat::Qcow2,
        DriveFormat::Unset => {
            let looks = DiskFormat::detect(&d.file)
                .with_context(|| format!("cannot read disk image {}", d.file.display()))?;
            if looks == DiskFormat::Qcow2 {
                anyhow::bail!(
                    "disk image {} starts with a qcow2 header but --drive does not say format=: \
                     add format=qcow2 if it is a qcow2 image, or format=raw if it is a raw disk \
                     (a guest can write such a header into its raw disk; tern never probes)",
                    d.file.display()
                );
            }
            DiskFormat::Raw
        }
    };
    let mut opts = DiskOptions::new(d.file.clone(), format);
    opts.read_only = d.readonly;
    opts.snapshot = d.snapshot;
    opts.named_files = NamedFiles {
        backing: d.backing.clone(),
        data_file: d.data_file.clone(),
    };
    Ok(opts)
}

/// One factory per device, in slot order: drives (their disks opened already, with
/// whether the guest sees them read-only), then network cards, then the rest.
pub fn factories(
    drives: &[(DiskHandle, bool)],
    nets: &[NetSpec],
    extra: &[String],
) -> anyhow::Result<Vec<VirtioFactory>> {
    let mut out: Vec<VirtioFactory> = Vec::new();
    for (i, (disk, read_only)) in drives.iter().enumerate() {
        let id = format!("tern-disk{i}");
        let (disk, read_only) = (disk.clone(), *read_only);
        out.push(Box::new(move |ctx| {
            transport(ctx, Blk::with_disk(disk, read_only, &id))
        }));
    }
    for (i, n) in nets.iter().enumerate() {
        let mac = n
            .mac
            .unwrap_or([0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + i as u8]);
        let backend = n.backend.clone();
        let rate_kbps = n.rate_kbps;
        let slirp = match &backend {
            NetBackend::User {
                hostfwd,
                host_loopback,
                max_flows,
            } => SlirpOptions {
                hostfwd: hostfwd
                    .iter()
                    .map(|h| h.parse::<HostFwd>().map_err(anyhow::Error::msg))
                    .collect::<anyhow::Result<Vec<_>>>()?,
                host_loopback: *host_loopback,
                max_flows: max_flows.unwrap_or(DEFAULT_MAX_FLOWS),
                ..SlirpOptions::default()
            },
            _ => SlirpOptions::default(),
        };
        out.push(Box::new(move |ctx| {
            let waker = Some(ctx.waker.clone());
            let be: Box<dyn Backend> = match backend {
                NetBackend::User { .. } => Box::new(
                    SlirpBackend::new(slirp, waker)
                        .map_err(|e| format!("user-mode network: {e}"))?,
                ),
                NetBackend::SocketListen(addr) => Box::new(
                    SocketBackend::listen(addr.as_str(), waker)
                        .map_err(|e| format!("netdev socket,listen={addr}: {e}"))?,
                ),
                NetBackend::SocketConnect(addr) => Box::new(
                    SocketBackend::connect(addr.as_str(), waker)
                        .map_err(|e| format!("netdev socket,connect={addr}: {e}"))?,
                ),
            };
            let card = Net::new(be, mac);
            let card = match rate_kbps {
                Some(kbps) => card.with_rate_limit(kbps),
                None => card,
            };
            transport(ctx, card)
        }));
    }
    for name in extra {
        match name.as_str() {
            "virtio-rng" => out.push(Box::new(|ctx| {
                transport(ctx, Rng::new().map_err(|e| format!("virtio-rng: {e}"))?)
            })),
            "virtio-console" => out.push(Box::new(|ctx| {
                transport(
                    ctx,
                    Console::new(Box::new(std::io::stdout()), Some(ctx.waker.clone())),
                )
            })),
            other => {
                anyhow::bail!("--device {other}: known devices are virtio-rng and virtio-console")
            }
        }
    }
    Ok(out)
}
