"""The warehouse floor as a graph: shortest walking routes and nearest storage bins.

Locations are strings. Bins are named after their aisle letter and bay number
(``"C07"``); ``"DOCK"`` is where pickers start. The floor plan is an adjacency
mapping ``{location: [neighbouring locations, ...]}`` and ``positions`` maps each
location to integer ``(x, y)`` coordinates in decimetres.
"""


def build_floor(aisles, bays, cross_aisles):
    """Adjacency and positions of a rectangular warehouse floor.

    Each aisle is a row of ``bays`` bins, bins next to each other in an aisle are
    connected, and at every bay listed in ``cross_aisles`` a corridor connects the
    aisle to its neighbouring aisles. The dock is connected to the first bin of
    the first aisle.
    """
    adjacency = {"DOCK": []}
    positions = {"DOCK": (-30, -30)}
    for a, letter in enumerate(aisles):
        for bay in range(bays):
            name = f"{letter}{bay:02d}"
            adjacency[name] = []
            positions[name] = (a * 35, bay * 12)
    for a, letter in enumerate(aisles):
        for bay in range(bays):
            name = f"{letter}{bay:02d}"
            if bay + 1 < bays:
                _connect(adjacency, name, f"{letter}{bay + 1:02d}")
            if bay in cross_aisles and a + 1 < len(aisles):
                _connect(adjacency, name, f"{aisles[a + 1]}{bay:02d}")
    _connect(adjacency, "DOCK", f"{aisles[0]}00")
    return adjacency, positions


def _connect(adjacency, a, b):
    adjacency[a].append(b)
    adjacency[b].append(a)


def shortest_route(adjacency, start, goal):
    """The route with the fewest steps from ``start`` to ``goal``, both included.

    Returns an empty list when ``goal`` cannot be reached.
    """
    queue = [start]
    visited = [start]
    came_from = {}
    while queue:
        here = queue.pop(0)
        if here == goal:
            break
        for neighbour in adjacency[here]:
            if neighbour not in visited:
                visited.append(neighbour)
                came_from[neighbour] = here
                queue.append(neighbour)
    if goal != start and goal not in came_from:
        return []
    route = [goal]
    while route[-1] != start:
        route.append(came_from[route[-1]])
    route.reverse()
    return route


def nearest_location(point, candidates, positions):
    """The candidate location closest to ``point`` in a straight line.

    ``point`` is an ``(x, y)`` pair. When two candidates are equally close the one
    listed first wins. Returns None when there are no candidates.
    """
    px, py = point
    best = None
    best_distance = 0.0
    for name in candidates:
        x, y = positions[name]
        dx = x - px
        dy = y - py
        distance = (dx * dx + dy * dy) ** 0.5
        if best is None or distance < best_distance:
            best = name
            best_distance = distance
    return best
