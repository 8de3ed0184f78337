import Foundation
import SystemPackage

/// What the shape of config.json cannot say, checked once decoding has succeeded: secrets that are base64, a port
/// that fits, at least one usable repository, repository paths that are ostree repositories. It also fills in the
/// derived values (the default `base-url`) and makes every path absolute, so that nothing below `main` depends on
/// the working directory.
extension Config {
    mutating func validate(file: String, workingDirectory: FilePath) throws(ConfigError) {
        guard TokenSigner(base64Secret: secret) != nil else {
            throw ConfigError(file: file, key: "secret", message: "not valid base64")
        }
        if let repoSecret, TokenSigner(base64Secret: repoSecret) == nil {
            throw ConfigError(file: file, key: "repo-secret", message: "not valid base64")
        }
        guard (0...65535).contains(port) else {
            throw ConfigError(file: file, key: "port", message: "must be between 0 and 65535")
        }
        guard !repos.isEmpty else { throw ConfigError(file: file, key: "repos", message: "no repository configured") }
        if baseURL.isEmpty { baseURL = "http://\(host):\(port)" }
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        buildRepoBase = Self.absolute(buildRepoBase, in: workingDirectory)
        if let home = gpgHomedir { gpgHomedir = Self.absolute(home, in: workingDirectory) }
        for name in repos.keys {
            guard var repo = repos[name] else { continue }
            // The grammar requests are checked against (`RepoName`): a repository outside it could not be named.
            guard RepoName.isValid(name) else {
                throw ConfigError(
                    file: file, key: "repos.\(name)",
                    message: "not a usable repository name (1-255 of A-Z a-z 0-9 _ . -, not starting with . or -)")
            }
            repo.path = Self.absolute(repo.path, in: workingDirectory)
            if let script = repo.postPublishScript, script.contains("/") {
                repo.postPublishScript = Self.absolute(FilePath(script), in: workingDirectory).string
            }
            var isDirectory: ObjCBool = false
            guard
                FileManager.default.fileExists(atPath: repo.path.appending("config").string, isDirectory: &isDirectory),
                !isDirectory.boolValue
            else {
                throw ConfigError(
                    file: file, key: "repos.\(name).path",
                    message: "\(repo.path) is not an ostree repository (create it with `ostree init --mode=archive-z2`)"
                )
            }
            repos[name] = repo
        }
    }

    /// `path` made absolute against `directory` and lexically normalised.
    public static func absolute(_ path: FilePath, in directory: FilePath) -> FilePath {
        let full = path.string.hasPrefix("/") ? path.string : directory.string + "/" + path.string
        return FilePath(URL(fileURLWithPath: full).standardizedFileURL.path)
    }
}
