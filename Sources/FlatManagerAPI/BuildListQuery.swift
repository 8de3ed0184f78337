import FlatManagerCore
import FlatManagerStore
import Foundation

/// The filters and page of the dashboard's build list, from `/status?app=&repo=&state=&since=&until=&page=`.
///
/// Every value is checked here (a bad one is a 400 with upstream's error JSON, never a trap); an empty value, as an
/// HTML form sends for an empty field, means "no filter".
struct BuildListQuery: Equatable {
    /// Builds per page (fixed).
    static let pageSize = 25
    /// The highest page asked for; far beyond any real list, and small enough that no offset can overflow.
    static let maximumPage = 1_000_000

    /// A string prefix of the app id (letters, digits, `.`, `_`, `-`).
    var app: String?
    var repo: String?
    /// A repo state or published state name (`failed` matches either).
    var state: String?
    /// `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS` (UTC) as given, with its instant.
    var since: (text: String, time: Timestamp)?
    /// Like `since`; a date alone includes that whole day.
    var until: (text: String, time: Timestamp)?
    var page = 1

    /// The state names the filter accepts, in the order the form offers them.
    static let stateNames: [String] =
        RepoState.allCases.map(\.name) + PublishedState.allCases.map(\.name).filter { $0 != "failed" }

    init(_ parameters: some Collection<(key: Substring, value: Substring)>) throws(APIError) {
        func value(_ key: String) -> String? {
            guard let value = parameters.first(where: { $0.key == key })?.value, !value.isEmpty else { return nil }
            return String(value)
        }
        if let app = value("app") {
            guard app.utf8.count <= 255, app.utf8.allSatisfy(Self.isAppIDByte) else {
                throw APIError.generic("Invalid app id prefix \(app)")
            }
            self.app = app
        }
        if let repo = value("repo") { self.repo = try EdgeNames.repo(repo).rawValue }
        if let state = value("state") {
            guard Self.stateNames.contains(state) else { throw APIError.generic("Invalid state \(state)") }
            self.state = state
        }
        if let since = value("since") { self.since = (since, try Self.time(since, what: "since", endOfDay: false)) }
        if let until = value("until") { self.until = (until, try Self.time(until, what: "until", endOfDay: true)) }
        if let page = value("page") {
            guard let number = Int(page), (1...Self.maximumPage).contains(number) else {
                throw APIError.generic("Invalid page \(page)")
            }
            self.page = number
        }
    }

    static func == (lhs: BuildListQuery, rhs: BuildListQuery) -> Bool {
        lhs.app == rhs.app && lhs.repo == rhs.repo && lhs.state == rhs.state && lhs.since?.text == rhs.since?.text
            && lhs.until?.text == rhs.until?.text && lhs.page == rhs.page
    }

    static func isAppIDByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// A date (`YYYY-MM-DD`, that day's start, or with `endOfDay` the next day's start) or a naive UTC time; the
    /// date must exist (no 31 February).
    static func time(_ text: String, what: String, endOfDay: Bool) throws(APIError) -> Timestamp {
        let isDate = text.utf8.count == 10
        let fields = text.prefix(10).split(separator: "-").compactMap { Int($0) }
        guard let time = Timestamp(naiveString: isDate ? text + "T00:00:00" : text), fields.count == 3 else {
            throw APIError.generic("Invalid \(what) \(text)")
        }
        let days = Timestamp.daysSinceEpoch(year: fields[0], month: fields[1], day: fields[2])
        guard Timestamp.civilDate(daysSinceEpoch: days) == (fields[0], fields[1], fields[2]) else {
            throw APIError.generic("Invalid \(what) \(text)")
        }
        return isDate && endOfDay ? time.adding(seconds: 86_400) : time
    }

    /// The first row of the page (`page` is at most `maximumPage`, so this cannot overflow).
    var offset: Int { (page - 1) * Self.pageSize }

    /// No filter, first page: upstream's `/status`, which reloads itself.
    var isDefault: Bool { self == BuildListQuery() }

    private init() {}

    /// Whether a filter looks at what a private build hides from anonymous viewers.
    var filtersHiddenValues: Bool { app != nil || repo != nil || since != nil || until != nil }

    /// The store's filter.
    func filter(publicOnly: Bool) -> BuildListFilter {
        var filter = BuildListFilter(
            appPrefix: app, repo: repo, since: since?.time, until: until?.time, publicOnly: publicOnly)
        if let state {
            filter.repoStates = RepoState.allCases.filter { $0.name == state }
            filter.publishedStates = PublishedState.allCases.filter { $0.name == state }
        }
        return filter
    }

    /// `/status?...` with these filters and `page`.
    func link(page: Int) -> String {
        var items: [URLQueryItem] = []
        let pairs = [("app", app), ("repo", repo), ("state", state), ("since", since?.text), ("until", until?.text)]
        for case (let name, let value?) in pairs { items.append(URLQueryItem(name: name, value: value)) }
        if page > 1 { items.append(URLQueryItem(name: "page", value: "\(page)")) }
        var components = URLComponents()
        components.path = "/status"
        components.queryItems = items.isEmpty ? nil : items
        return components.string ?? "/status"
    }

    /// What the list template shows of the filters.
    var values: [String: Any] {
        [
            "filter": [
                "app": app ?? "", "repo": repo ?? "", "since": since?.text ?? "", "until": until?.text ?? "",
            ],
            "states": Self.stateNames.map { ["name": $0, "selected": $0 == state] },
            "page": "\(page)",
        ]
    }
}
