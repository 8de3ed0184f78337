import Foundation

/// Where the database lives, decoded once from the `database-url` setting (or its absence).
enum DatabaseLocation: Sendable, Equatable {
    /// An embedded SQLite file.
    case sqlite(path: String)
    /// A PostgreSQL server reached over TCP or a unix-domain socket.
    case postgres(PostgresLocation)

    /// The SQLite file used when no URL is configured.
    static func defaultSQLite(workingDirectory: String) -> DatabaseLocation {
        .sqlite(path: (workingDirectory as NSString).appendingPathComponent("flat-manager.db"))
    }

    /// Parses a `postgres://` or `postgresql://` URL.
    ///
    /// We parse by hand because libpq's socket form puts a percent-encoded directory into the host
    /// (`postgres://%2Fvar%2Frun%2Fpostgresql/repo`), which URL parsers reject or leave encoded.
    static func parse(_ url: String) throws(StoreError) -> DatabaseLocation {
        let schemes = ["postgres://", "postgresql://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else { throw .invalidURL(url) }
        var rest = Substring(url.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count).drop { $0 == "/" }
        var location = try PostgresLocation(authority: authority, url: url)
        location.database = path.isEmpty ? nil : try decode(path, url)
        try location.apply(query: query, url: url)
        return .postgres(location)
    }

    /// Percent-decodes one URL component.
    static func decode(_ text: Substring, _ url: String) throws(StoreError) -> String {
        guard let value = String(text).removingPercentEncoding else { throw .invalidURL(url) }
        return value
    }
}

/// The parts of a PostgreSQL URL that PostgresNIO needs.
struct PostgresLocation: Sendable, Equatable {
    var host: String = "localhost"
    var port: Int = 5432
    var user: String = "postgres"
    var password: String?
    var database: String?
    /// Whether the URL asks for TLS (`sslmode=require` or stricter); plain connections otherwise.
    var wantsTLS = false

    /// A host starting with `/` names the socket directory, as in libpq.
    var socketPath: String? {
        host.hasPrefix("/") ? (host as NSString).appendingPathComponent(".s.PGSQL.\(port)") : nil
    }

    init(authority: Substring, url: String) throws(StoreError) {
        var hostPort = authority
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            let user = userInfo.prefix { $0 != ":" }
            self.user = try DatabaseLocation.decode(user, url)
            if user.count < userInfo.count {
                password = try DatabaseLocation.decode(userInfo.dropFirst(user.count + 1), url)
            }
        }
        try setHostPort(hostPort, url: url)
    }

    private mutating func setHostPort(_ text: Substring, url: String) throws(StoreError) {
        var hostText = text
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            hostText = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if after.hasPrefix(":") { try setPort(after.dropFirst(), url: url) }
        } else if let colon = text.lastIndex(of: ":") {
            hostText = text[..<colon]
            try setPort(text[text.index(after: colon)...], url: url)
        }
        if !hostText.isEmpty { host = try DatabaseLocation.decode(hostText, url) }
    }

    private mutating func setPort(_ text: Substring, url: String) throws(StoreError) {
        guard let value = Int(text), (1...65535).contains(value) else { throw .invalidURL(url) }
        port = value
    }

    /// Understands libpq's `host`, `port`, `user`, `password`, `dbname` and `sslmode` query parameters.
    mutating func apply(query: Substring, url: String) throws(StoreError) {
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let key = pair.prefix { $0 != "=" }
            let value = try DatabaseLocation.decode(pair.dropFirst(min(key.count + 1, pair.count)), url)
            switch key {
            case "host": host = value
            case "port": try setPort(Substring(value), url: url)
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "sslmode": wantsTLS = ["require", "verify-ca", "verify-full"].contains(value)
            default: continue
            }
        }
    }
}
