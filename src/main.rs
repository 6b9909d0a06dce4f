/// The server allocates through mimalloc: rendering a page makes and frees thousands of small
/// strings, and glibc's malloc spent a fifth of the server's time on them. Argon2's 19 MiB of
/// working memory is taken from the system allocator instead (`auth::service`), so it is given
/// back to the system as soon as a hash is done.
#[cfg(feature = "ssr")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    no_huge_pages();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(shop::server::main()),
        Err(error) => {
            eprintln!("shop: could not start the async runtime: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// mimalloc asks Linux for transparent huge pages on its memory (where the system allows them
/// on request, as Debian does), and each 2 MiB page touched is 2 MiB resident: the server's
/// peak memory went from 60 to 97–111 MB under `make bench`, for no measurable speed. Turned
/// off for this process before any thread starts.
#[cfg(feature = "ssr")]
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and only sets a flag of this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

#[cfg(not(feature = "ssr"))]
pub fn main() {
    // The browser entry point is `hydrate` in lib.rs.
}
