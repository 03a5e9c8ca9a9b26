//! The `postlaunch` binary: everything lives in the library; see `postlaunch --help`.

fn main() -> std::process::ExitCode {
    postlaunch::cli::main()
}
