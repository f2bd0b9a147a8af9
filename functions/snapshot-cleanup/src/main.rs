fn main() {
    // Wired in its own issue; the crate exists so the workspace has its final shape.
}
