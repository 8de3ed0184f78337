import Foundation
import NIOCore
import TestSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fresh directory under /tmp, removed by `remove()`.
struct HTTPTestDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/fm-http-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw HTTPTestFailure("mkdtemp failed")
        }
        path = String(cString: made)
    }

    func remove() {
        _ = path.withCString { system("rm -rf '\(String(cString: $0))'") }
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        let full = "\(path)/\(relative)"
        let parent = String(full[..<(full.lastIndex(of: "/") ?? full.endIndex)])
        _ = system("mkdir -p '\(parent)'")
        guard let file = fopen(full, "wb") else { throw HTTPTestFailure("cannot create \(full)") }
        defer { fclose(file) }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw HTTPTestFailure("short write") }
    }

    func read(_ relative: String) -> [UInt8]? {
        guard let file = fopen("\(path)/\(relative)", "rb") else { return nil }
        defer { fclose(file) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            out.append(contentsOf: chunk[0..<count])
        }
        return out
    }

    /// Names in a directory (relative), excluding `.` and `..`; empty if it does not exist.
    func list(_ relative: String) -> [String] {
        guard let dir = opendir("\(path)/\(relative)") else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// The permission bits of a file, or nil if it is missing.
    func mode(_ relative: String) -> Int? {
        let attributes = try? FileManager.default.attributesOfItem(atPath: "\(path)/\(relative)")
        return (attributes?[.posixPermissions] as? NSNumber)?.intValue
    }
}

struct HTTPTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Builds multipart bodies the way the two upstream clients do.
enum MultipartFixture {
    /// One part to send.
    struct Part {
        var filename: String
        var content: [UInt8]
    }

    enum Shape {
        /// 0.4.2 Python client: multipart/mixed, `attachment`, a Content-Length part header.
        case python
        /// 0.5 Rust client: multipart/form-data with `name="fileN"`.
        case rust
    }

    static func body(_ parts: [Part], boundary: String, shape: Shape, preamble: String = "", epilogue: String = "")
        -> [UInt8]
    {
        var out = Array(preamble.utf8)
        for (index, part) in parts.enumerated() {
            out += Array("--\(boundary)\r\n".utf8)
            switch shape {
            case .python:
                out += Array("Content-Type: application/octet-stream\r\n".utf8)
                out += Array("Content-Disposition: attachment; filename=\"\(part.filename)\"\r\n".utf8)
                out += Array("Content-Length: \(part.content.count)\r\n\r\n".utf8)
            case .rust:
                out += Array(
                    "Content-Disposition: form-data; name=\"file\(index)\"; filename=\"\(part.filename)\"\r\n".utf8)
                out += Array("Content-Type: application/octet-stream\r\n\r\n".utf8)
            }
            out += part.content
            out += Array("\r\n".utf8)
        }
        out += Array("--\(boundary)--\r\n".utf8)
        out += Array(epilogue.utf8)
        return out
    }

    /// Parts whose content is designed to confuse a boundary scanner.
    static func trickyParts(boundary: String, random: inout SeededRandom) -> [Part] {
        let delimiter = Array("\r\n--\(boundary)".utf8)
        var binary = random.bytes(3000)
        binary.insert(contentsOf: delimiter.dropLast(), at: 100)
        binary.insert(contentsOf: Array("\r\n--".utf8), at: 700)
        binary.insert(contentsOf: Array("--\(boundary)".utf8), at: 1200)
        binary.insert(contentsOf: Array("\r\n\r\n--\(boundary.dropLast())X".utf8), at: 1900)
        return [
            Part(filename: "a.filez", content: binary),
            Part(filename: "empty.dirmeta", content: []),
            Part(filename: "cr.dirtree", content: Array("\r".utf8)),
            Part(filename: "tail.commit", content: Array("abc\r\n--".utf8) + Array(boundary.utf8.dropLast())),
            Part(filename: "dashes", content: Array("\r\n-\r\n--\r\n--\(boundary.prefix(3))".utf8)),
            Part(filename: "crlf", content: Array("\r\n".utf8)),
        ]
    }
}
