import Testing

@testable import FlatManagerAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("RepoPath")
struct FileServingRepoPathTests {
    @Test("empty segments are skipped, dot-dot pops, and plus signs stay")
    func normalises() throws {
        #expect(try RepoPath.normalize("//objects//ab/cd.commit") == ["objects", "ab", "cd.commit"])
        #expect(try RepoPath.normalize("a/b/../c") == ["a", "c"])
        #expect(try RepoPath.normalize("deltas/Ok/i+c_D9/superblock") == ["deltas", "Ok", "i+c_D9", "superblock"])
        #expect(try RepoPath.normalize("") == [])
    }

    @Test(
        "traversal and hidden or special segments are refused",
        arguments: ["..", "a/../../x", ".hidden", "deltas/.tmp/x", ".", "*", "a/*b", "x:", "C:/y", "a<", "b>", "a\0b"])
    func refuses(path: String) {
        #expect(throws: FileServingError.self) { try RepoPath.normalize(path) }
    }

    @Test("going above the root names upstream's message")
    func aboveRoot() {
        #expect(throws: FileServingError.badPath("Path segments goes outside parent")) {
            try RepoPath.normalize("a/../../etc/passwd")
        }
    }
}

@Suite("ConfinedPath")
struct FileServingConfinedPathTests {
    @Test("a file inside the root resolves to its real path")
    func inside() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("repo/objects/ab/cd.filez", [1])

        let resolved = try ConfinedPath.resolve(
            root: directory.path + "/repo", segments: ["objects", "ab", "cd.filez"])

        #expect(resolved.hasSuffix("/repo/objects/ab/cd.filez"))
    }

    @Test("a symlink pointing outside the root is refused, missing files are not found")
    func symlinkOutside() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("secret", [1])
        try directory.write("repo/config", [2])
        symlink(directory.path + "/secret", directory.path + "/repo/leak")

        #expect(throws: FileServingError.notFound) {
            try ConfinedPath.resolve(root: directory.path + "/repo", segments: ["leak"])
        }
        #expect(throws: FileServingError.notFound) {
            try ConfinedPath.resolve(root: directory.path + "/repo", segments: ["missing"])
        }
    }

    @Test("a build repo's parent symlink is followed only when the main repo is allowed")
    func parentSymlink() throws {
        let directory = try HTTPTestDirectory()
        defer { directory.remove() }
        try directory.write("main/objects/ab/cd.dirtree", [3])
        try directory.write("build/7/config", [4])
        symlink(directory.path + "/main", directory.path + "/build/7/parent")
        let segments = ["parent", "objects", "ab", "cd.dirtree"]

        let allowed = try ConfinedPath.resolve(
            root: directory.path + "/build/7", segments: segments, alsoAllowed: [directory.path + "/main"])

        #expect(allowed.hasSuffix("/main/objects/ab/cd.dirtree"))
        #expect(throws: FileServingError.notFound) {
            try ConfinedPath.resolve(root: directory.path + "/build/7", segments: segments)
        }
    }
}

@Suite("HTTP dates and byte ranges")
struct FileServingHeaderTests {
    @Test("the three date formats of RFC 9110 parse to the same instant, and formatting round-trips")
    func dates() throws {
        let imf = HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT")
        let rfc850 = HTTPDate.parse("Sunday, 06-Nov-94 08:49:37 GMT")
        let asctime = HTTPDate.parse("Sun Nov  6 08:49:37 1994")

        #expect(imf != nil)
        #expect(imf == rfc850 && imf == asctime)
        #expect(HTTPDate.format(secondsSinceEpoch: try #require(imf)) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.parse("yesterday") == nil)
        for seconds in [0, 951_782_400, 1_709_164_799, 4_102_444_800] {
            #expect(HTTPDate.parse(HTTPDate.format(secondsSinceEpoch: seconds)) == seconds)
        }
        // A file's time stamp is not input to trust: the extremes are clamped to the years 1 and 9999, not a trap,
        // and the year keeps the four digits of the grammar (RFC 9110 §5.6.7).
        #expect(HTTPDate.format(secondsSinceEpoch: -1) == "Wed, 31 Dec 1969 23:59:59 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: .max) == "Fri, 31 Dec 9999 23:59:59 GMT")
        #expect(HTTPDate.format(secondsSinceEpoch: .min) == "Mon, 01 Jan 0001 00:00:00 GMT")
        #expect(HTTPDate.parse(HTTPDate.format(secondsSinceEpoch: .min)) == -62_135_596_800)
    }

    @Test("odd range headers fall back to the whole file or are unsatisfiable")
    func ranges() {
        #expect(ByteRange.parse("bytes=0-1,4-5", size: 10) == .whole)
        #expect(ByteRange.parse("bytes=5-2", size: 10) == .whole)
        #expect(ByteRange.parse("items=0-1", size: 10) == .whole)
        #expect(ByteRange.parse("bytes=2-100", size: 10) == .part(2..<10))
        #expect(ByteRange.parse("bytes=-100", size: 10) == .part(0..<10))
        #expect(ByteRange.parse("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange.parse("bytes=-0", size: 10) == .unsatisfiable)
    }
}
