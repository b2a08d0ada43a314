//! `tern`: run RISC-V guests.

#![forbid(unsafe_code)]

mod cli;

use clap::Parser;

fn main() {
    let args = cli::Cli::parse();
    let code = match cli::dispatch(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tern: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
