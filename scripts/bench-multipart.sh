#!/bin/sh
# Micro benchmark of the multipart parser and the upload receiver, kept out of the test suite.
# Copies the parser/receiver sources into a throwaway package (release build, NIOCore only) and
# prints MB/s for parsing alone and for parsing + writing to disk.
# Usage: scripts/bench-multipart.sh [megabytes-per-part] [parts]
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${BENCH_DIR:-/tmp/fm-bench-multipart}
mb=${1:-64}
parts=${2:-4}
mkdir -p "$work/Sources/Bench"
cp "$repo"/Sources/FlatManagerAPI/Multipart/*.swift "$repo"/Sources/FlatManagerAPI/Files/POSIXFiles.swift \
    "$work/Sources/Bench/"
nio_version=$(sed -n '/"swift-nio"/,/version/s/.*"version" *: *"\(.*\)".*/\1/p' "$repo/Package.resolved" | head -n 1)
cat > "$work/Package.swift" <<PKG
// swift-tools-version: 6.0
import PackageDescription
let package = Package(
    name: "Bench",
    dependencies: [.package(url: "https://github.com/apple/swift-nio", exact: "${nio_version:-2.101.2}")],
    targets: [.executableTarget(name: "Bench", dependencies: [.product(name: "NIOCore", package: "swift-nio")])]
)
PKG
cat > "$work/Sources/Bench/main.swift" <<'SWIFT'
import NIOCore
#if canImport(Glibc)
    import Glibc
#endif

let arguments = CommandLine.arguments
let megabytes = Int(arguments[1]) ?? 64
let partCount = Int(arguments[2]) ?? 4
let boundary = "1f0c9f4d2d7a4b8e9e3c1b2a3d4e5f60"
var content = [UInt8](repeating: 0, count: megabytes * 1024 * 1024)
for index in content.indices { content[index] = UInt8(truncatingIfNeeded: index &* 2_654_435_761 >> 13) }
var body = ByteBuffer()
for index in 0..<partCount {
    body.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\(index)\"; filename=\"p\(index)\"\r\n\r\n")
    body.writeBytes(content)
    body.writeString("\r\n")
}
body.writeString("--\(boundary)--\r\n")
let chunks = stride(from: 0, to: body.readableBytes, by: 65536).map {
    body.getSlice(at: $0, length: min(65536, body.readableBytes - $0))!
}

func seconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}
func report(_ label: String, _ start: Double, total: Int) {
    let elapsed = seconds() - start
    let rate = Int(Double(total) / 1_048_576 / elapsed)
    print("\(label): \(rate) MB/s")
}

var start = seconds()
var parser = MultipartParser(boundary: boundary)
var bytes = 0
for chunk in chunks {
    for case .body(let piece) in try parser.feed(chunk) { bytes += piece.readableBytes }
}
try parser.finish()
precondition(bytes == megabytes * 1024 * 1024 * partCount)
report("parse (64 KiB chunks)", start, total: body.readableBytes)

struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { rest.popFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks[...]) }
}
let directory = "/tmp/fm-bench-multipart-out"
start = seconds()
let sizes = try await UploadReceiver.receive(body: Chunks(chunks: chunks), boundary: boundary, tempDirectory: directory + "/tmp") {
    name throws(UploadError) in UploadDestination(finalPath: "\(directory)/out/\(name)")
}
precondition(sizes.count == partCount)
report("parse + write to disk", start, total: body.readableBytes)
SWIFT
cd "$work"
swift build -c release -j 2 >/dev/null
"$work/.build/release/Bench" "$mb" "$parts"
rm -rf /tmp/fm-bench-multipart-out
