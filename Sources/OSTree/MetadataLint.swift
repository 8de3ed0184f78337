import FlatManagerCore
import Foundation

/// Whether an uploaded commit's flatpak metadata agrees with itself, its ref and its build (ours, the repo key
/// `metadata-lint`). Flatpak shows the user the permissions in the commit's `xa.metadata` but runs the app with its
/// `/metadata` file; a NUL byte or a difference between the two hides permissions (CVE-2021-43860). A commit made
/// for another ref (arch, branch or app) is refused too. Pure and total: hostile input gives problems, never a trap.
public enum MetadataLint {
    /// The largest `/metadata` the lint reads; flatpak's own are a few KiB.
    public static let maxMetadataBytes = 1024 * 1024

    /// What is wrong with the uploaded commit of `ref` (its metadata `commit`, the `a{sv}` of the commit object),
    /// one sentence each; empty when nothing is. `metadataFile` is
    /// the tree's `/metadata`, nil when it could not be read (`unreadable` says why). `buildAppID` is the build's
    /// app id when it was created with one.
    public static func problems(
        ref: String, commit: [String: GVariantValue], metadataFile: [UInt8]?, unreadable: String? = nil,
        buildAppID: String?
    ) -> [String] {
        // The sentences quote uploaded text; control characters never reach the job log.
        rawProblems(
            ref: ref, commit: commit, metadataFile: metadataFile, unreadable: unreadable, buildAppID: buildAppID
        ).map(printable)
    }

    static func rawProblems(
        ref: String, commit: [String: GVariantValue], metadataFile: [UInt8]?, unreadable: String?,
        buildAppID: String?
    ) -> [String] {
        guard let name = RefName(ref) else { return ["\(ref) is not a flatpak ref"] }
        var problems = bindingProblems(ref: ref, commit: commit)
        let id: String
        let arch: String
        let branch: String
        switch name {
        case .app(let i, let a, let b), .runtime(let i, let a, let b): (id, arch, branch) = (i, a, b)
        case .screenshots: return problems
        }
        let embedded = embeddedMetadata(commit, problems: &problems)
        let file = fileMetadata(metadataFile, unreadable: unreadable, problems: &problems)
        if let embedded, let file, embedded != file {
            problems.append("xa.metadata of the commit disagrees with the /metadata file in its tree")
        }
        guard let text = embedded ?? file else { return problems }
        let isApp = ref.hasPrefix("app/")
        let keyFile = KeyFile(text)
        let group = isApp ? "Application" : "Runtime"
        guard let fields = keyFile.groups[group] else {
            problems.append("the metadata has no [\(group)] group")
            return problems
        }
        if fields["name"] != id {
            problems.append("the metadata names \(fields["name"].map { "'\($0)'" } ?? "nothing"), the ref \(id)")
        }
        if isApp, let buildAppID, buildAppID != id || fields["name"] != buildAppID {
            problems.append(
                "the app id \(fields["name"] ?? id) of ref \(ref) is not the build's app id \(buildAppID)")
        }
        for key in ["runtime", "sdk"] {
            guard let value = fields[key] else { continue }
            problems += partialRefProblems(
                "\(key)=\(value)",
                parts: value.split(separator: "/", omittingEmptySubsequences: false).map(String.init),
                ownID: isApp ? nil : id, arch: arch, branch: branch)
        }
        if let extensionOf = keyFile.groups["ExtensionOf"]?["ref"] {
            let parts = extensionOf.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            problems += partialRefProblems(
                "[ExtensionOf] ref=\(extensionOf)", parts: Array(parts.dropFirst()), ownID: nil, arch: arch,
                branch: branch)
        }
        return problems
    }

    /// `xa.ref` must be the ref, `ostree.ref-binding` must list it (both only when present).
    static func bindingProblems(ref: String, commit: [String: GVariantValue]) -> [String] {
        var problems: [String] = []
        if let value = commit["xa.ref"], value != .string(ref) {
            problems.append("the commit was made for \(describe(value)) (xa.ref), not \(ref)")
        }
        if let value = commit["ostree.ref-binding"], value.stringList?.contains(ref) != true {
            problems.append("the commit is bound to \(describe(value)) (ostree.ref-binding), not \(ref)")
        }
        return problems
    }

    /// `xa.metadata` as text; nil (with a problem) when it is missing, not a string or holds a NUL byte.
    static func embeddedMetadata(_ commit: [String: GVariantValue], problems: inout [String]) -> String? {
        switch commit["xa.metadata"] {
        case .none:
            problems.append("the commit has no xa.metadata")
        case .string(let text):
            return text
        // An `s` the reader refused: its bytes still end with the terminating NUL, so only earlier ones count.
        case .other(let type, let data) where type == "s" && data.dropLast().contains(0):
            problems.append("xa.metadata of the commit contains a NUL byte")
        case .some(let value):
            problems.append("xa.metadata of the commit is not UTF-8 text (\(describe(value)))")
        }
        return nil
    }

    /// The `/metadata` file as text; nil (with a problem) when unreadable, too large, not UTF-8 or holding a NUL.
    static func fileMetadata(_ bytes: [UInt8]?, unreadable: String?, problems: inout [String]) -> String? {
        guard let bytes else {
            problems.append("the /metadata file of the tree cannot be read (\(unreadable ?? "missing"))")
            return nil
        }
        guard bytes.count <= maxMetadataBytes else {
            problems.append("the /metadata file of the tree is larger than \(maxMetadataBytes) bytes")
            return nil
        }
        guard !bytes.contains(0) else {
            problems.append("the /metadata file of the tree contains a NUL byte")
            return nil
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            problems.append("the /metadata file of the tree is not UTF-8 text")
            return nil
        }
        return text
    }

    /// For `ID/ARCH/BRANCH` values: the arch must be the ref's; when the id is the ref's own (a runtime naming
    /// itself), the branch must be the ref's too.
    static func partialRefProblems(_ what: String, parts: [String], ownID: String?, arch: String, branch: String)
        -> [String]
    {
        guard parts.count == 3 else { return ["the metadata's \(what) is not ID/ARCH/BRANCH"] }
        var problems: [String] = []
        if parts[1] != arch { problems.append("the metadata's \(what) is for arch \(parts[1]), the ref for \(arch)") }
        if let ownID, parts[0] == ownID, parts[2] != branch {
            problems.append("the metadata's \(what) is for branch \(parts[2]), the ref for \(branch)")
        }
        return problems
    }

    /// A metadata value for a log line, short and printable.
    static func describe(_ value: GVariantValue) -> String {
        let text: String
        switch value {
        case .string(let string): text = "'\(string)'"
        case .stringArray(let list): text = "[" + list.map { "'\($0)'" }.joined(separator: ", ") + "]"
        case .other(let type, _): text = "a value of type \(type)"
        default: text = "a value of another type"
        }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(200)))
    }

    /// `text` with each control character (C0, DEL, C1) replaced by `?`.
    static func printable(_ text: String) -> String {
        let scalars = text.unicodeScalars.map { scalar -> Unicode.Scalar in
            scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value) ? "?" : scalar
        }
        return String(String.UnicodeScalarView(scalars))
    }
}

/// The groups and keys of a GLib key file (flatpak metadata), enough for the lint: the first value of a key wins,
/// comments and malformed lines are skipped.
struct KeyFile {
    var groups: [String: [String: String]] = [:]

    init(_ text: String) {
        var group: String?
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("["), line.hasSuffix("]"), line.count >= 2 {
                let name = String(line.dropFirst().dropLast())
                group = name
                if groups[name] == nil { groups[name] = [:] }
                continue
            }
            guard let group, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if groups[group]?[key] == nil { groups[group]?[key] = value }
        }
    }
}

extension GVariantValue {
    /// The strings of an `as`, nil for any other type.
    var stringList: [String]? {
        if case .stringArray(let list) = self { return list }
        return nil
    }
}
