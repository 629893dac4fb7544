#!/usr/bin/env python3
"""The SQLite statement TCS runs for a people-list URL, for bench/tcs.sh's EXPLAIN QUERY PLAN.

    tcs_plans.py '/tcs/api/people?searchQuery=smi&size=20&sort=id,desc' [OWNERS…]

Prints {"sql": …, "params": […]}: the statement crates/services/tcs/src/people/search.rs
writes for the URL on SQLite, for a caller whose scope is OWNERS (default: every owner of
the demo data, as the `admin` user's). Keep it in step with search.rs (it is a copy of its
shape; the select list is shortened to `p.*`, which the plans do not depend on).
"""

import json
import sys
import urllib.parse

OWNERS = [  # domain/owners.rs: the 14 owners the admin user's designated bodies map to
    "East Midlands", "East of England", "London LETBs", "North Central and East London", "North East",
    "North West", "North West London", "Northern Ireland Medical and Dental Training Agency",
    "South London", "South West", "Thames Valley", "Wessex", "West Midlands", "Yorkshire and the Humber",
]

COLUMNS = {
    "programmeName": "programme_name", "programmeMembershipStatus": "programme_membership_status",
    "gradeId": "grade_id", "siteId": "site_id", "placementType": "placement_type",
    "specialty": "specialty", "role": "role", "status": "status", "currentOwner": "current_owner",
    "trainingNumber": "training_number", "surname": "surname", "forenames": "forenames", "id": "id",
}


BROAD = {"status", "programme_membership_status"}
MAX_BRANCHES = 24


def order_by(sort, aliases=False):
    col, _, way = sort.partition(",")
    desc = way.lower() == "desc"
    if col == "id":
        return ' ORDER BY "id" DESC' if desc and aliases else ' ORDER BY "id" ASC' if aliases else (
            " ORDER BY id DESC" if desc else " ORDER BY id ASC")
    c = f'"{col}"' if aliases else COLUMNS[col]
    i = '"id"' if aliases else "id"
    return f" ORDER BY {c} DESC NULLS FIRST, {i} ASC" if desc else f" ORDER BY {c} ASC NULLS LAST, {i} ASC"


def statement(url, scope):
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    filters = json.loads(q.get("columnFilters", "{}"))
    owners = sorted(set(scope) & set(filters.pop("currentOwner", scope)))
    term = q.get("searchQuery", "").strip().lower()
    sort = q.get("sort", "id,asc")
    size, page = int(q.get("size", 20)), int(q.get("page", 0))

    def rows(owner_list, with_term):
        params, where = [], []
        for key, values in filters.items():
            where.append(f"{COLUMNS[key]} IN ({', '.join('?' * len(values))})")
            params.extend(values)
        sql = "SELECT p.* FROM person_view p" + (" WHERE " + " AND ".join(where) if where else " WHERE 1 = 1")
        if not owner_list:
            sql += " AND 1 = 0"
        elif len(owner_list) == 1:
            sql += " AND p.current_owner = ?"
        else:
            sql += f" AND +p.current_owner IN ({', '.join('?' * len(owner_list))})"
        params.extend(owner_list)
        if with_term:
            if len(term) >= 3:
                sql += " AND (p.id IN (SELECT rowid FROM search_person WHERE search_person MATCH ?)"
                params.append('"' + term.replace('"', '""') + '"')
            else:
                sql += r" AND (p.search_text LIKE ? ESCAPE '\'"
                params.append(f"%{term}%")
            parts = [s.strip() for s in term.split(",") if s.strip()]
            if parts and all(s.isdigit() for s in parts):
                sql += f" OR p.id IN ({', '.join('?' * len(parts))})"
                params.extend(int(s) for s in parts)
            sql += ")"
        return sql, params

    if not term and set(COLUMNS[k] for k in filters) <= BROAD and 2 <= len(owners) <= MAX_BRANCHES:
        parts, params = [], []
        for i, o in enumerate(owners):
            sql, ps = rows([o], False)
            parts.append(f"SELECT * FROM ({sql}{order_by(sort)} LIMIT ?) AS b{i}")
            params.extend(ps + [(page + 1) * size + 1])
        sql = " UNION ALL ".join(parts) + order_by(sort, aliases=True) + " LIMIT ? OFFSET ?"
        return {"sql": sql, "params": params + [size + 1, page * size]}
    sql, params = rows(owners, bool(term))
    sql += order_by(sort) + " LIMIT ? OFFSET ?"
    return {"sql": sql, "params": params + [size + 1, page * size]}


if __name__ == "__main__":
    print(json.dumps(statement(sys.argv[1], sys.argv[2:] or OWNERS)))
