//! zmqcat: netcat for ZeroMQ (work in progress).

fn main() {
    eprintln!("zmqcat: not implemented yet");
    std::process::exit(2);
}
