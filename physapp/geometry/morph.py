"""Morph one reference mesh onto other geometries of a study (a common support, MMGP-style).

Every sample of a dataset is solved on a morph of ONE reference mesh, so all samples share its
topology and a surrogate can learn node coordinates and fields as plain arrays. The morph needs
only :class:`~physapp.core.mesh.MeshData` of the reference and of the target geometry (the study
meshed at the target values with the same element size):

1. **Guess.** Some target positions are known without any search: nodes of small named regions
   (a hole: bounding box below half the domain's) and of small curved patches (a fillet, matched
   to the target's nearest one) follow the affine map between their bounding boxes in the two
   meshes; nodes on a face of a region's or the domain's bounding box, and nodes on axis-aligned
   flat faces (the i-th plane of a region facing +x goes to the target's i-th such plane), keep
   to that plane. A pseudo-solid (linear elasticity on the current shape, small elements
   stiffer than large ones, see :data:`PSEUDO_SOLID`) moves these DOFs there in a few
   increments and carries every other node along.
2. **Projection.** Each reference boundary node is projected onto the target's boundary facets of
   the same named region, keeping to facets whose normal is close to its own (so a node on the
   top face does not land on a side face). Nodes on edges and corners (several regions, or normals
   more than 40 degrees apart) go to the intersection of the surfaces, by alternating
   linearised projections. Curved boundaries are followed beyond the target's flat facets: a
   circle fit through the neighbouring target nodes in 2D (exact for arcs and lines), Phong
   interpolation of the target's vertex normals in 3D.
3. **Extension.** The pseudo-solid carries the remaining boundary displacement into the interior.
4. **Quality.** Every element must keep its orientation, at least ``min_volume_ratio`` of its
   size (relative to the change of the total volume) and ``min_quality_ratio`` of its shape
   quality; otherwise :class:`GeometryError` names the values and the range in which each
   changed parameter can be morphed (:func:`valid_range`).

The reference mesh must be linear (triangles or tetrahedra). A P2 solver creates its midside
nodes on the straight edges of the morphed mesh, so quadratic output meshes share the topology too.

Limits: the target must have the same named regions; a feature that vanishes (fillet radius 0)
is approximated by the nearest faces (a small chamfer of reference nodes remains); only
axis-aligned flat faces are matched plane by plane; :func:`valid_range` varies one parameter at
a time, so combinations of extreme values can still be refused.

The array operations (quality, facets, pseudo-solid, projection) are
:mod:`physapp.geometry.morph_ops`. Mesh morphing is geometry: it moved here from
``physapp.surrogates`` (which re-exports it) and needs only numpy, scipy and the core.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from physapp.core.errors import GeometryError, ParameterError
from physapp.core.mesh import MeshData
from physapp.core.progress import NEVER, CancelToken, ProgressFn, no_progress
from physapp.core.study import Study
from physapp.geometry.morph_ops import (  # noqa: F401 - the tunables are importable here too
    _COS_FEATURE,
    COMPATIBLE_ANGLE,
    CURVED_ANGLE,
    FEATURE_ANGLE,
    N_CANDIDATES,
    PSEUDO_SOLID,
    TRUST_FRACTION,
    _boundary_facets,
    _curved_patches,
    _facet_regions,
    _plane_levels,
    _pseudo_solid,
    _raw_normals,
    _shape_quality,
    _signed_volumes,
    _simplices,
    _Surface,
    _unit,
)


@dataclass(frozen=True)
class MorphQuality:
    """How much a morph degrades the reference elements (ratios relative to the reference)."""

    min_volume_ratio: float  # smallest (V_morph / V_ref) / (total volume ratio); <= 0: inverted
    min_quality_ratio: float  # smallest shape quality q_morph / q_ref
    n_inverted: int
    n_bad: int  # elements below either threshold
    lost_features: tuple[str, ...] = ()  # regions whose curved patch has no target counterpart


# --------------------------------------------------------------------------------------------
# mesh helpers


# --------------------------------------------------------------------------------------------
# P1 operators on the reference mesh


# --------------------------------------------------------------------------------------------
# target surface: closest compatible point, curvature correction


# --------------------------------------------------------------------------------------------
# the morpher


def _fmt(study: Study, name: str, value: float) -> str:
    p = study.spec.parameter(name)
    unit = p.shown_unit
    return f"{value * p.scale:.4g}{' ' + unit if unit else ''}"


class Morpher:
    """Morph one reference mesh of a study to other parameter values.

    Parameters
    ----------
    study : the study.
    reference_values : the reference parameters (default: the study's defaults).
    reference_mesh : the reference mesh (default: the study meshed at ``reference_values``). A
        dataset passes the mesh it stored, since 3D meshing need not be reproducible.
    min_volume_ratio : refuse a morph in which an element keeps less than this fraction of its
        reference size (relative to the change of the total volume).
    min_quality_ratio : refuse a morph in which an element's shape quality drops below this
        fraction of its reference quality.
    valid_ranges : known morphable ranges (name -> (lower, upper)) quoted in refusals; others are
        found by :func:`valid_range` when a morph is refused.
    steps : increments of the first pseudo-solid stage (large changes need several).
    pseudo_solid : (Poisson ratio, stiffening exponent) of the pseudo-solid; default
        :data:`PSEUDO_SOLID` for the mesh's dimension.
    """

    def __init__(
        self,
        study: Study,
        reference_values: Mapping[str, float] | None = None,
        reference_mesh: MeshData | None = None,
        *,
        min_volume_ratio: float = 0.1,
        min_quality_ratio: float = 0.2,
        valid_ranges: Mapping[str, tuple[float, float]] | None = None,
        steps: int = 4,
        pseudo_solid: tuple[float, float] | None = None,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> None:
        self.study = study
        self.reference_values = study.check(reference_values or {})
        if reference_mesh is None:
            reference_mesh = study.build_mesh(self.reference_values, progress=progress,
                                              cancel=cancel)
        self.reference_mesh = reference_mesh
        self.min_volume_ratio = min_volume_ratio
        self.min_quality_ratio = min_quality_ratio
        self.valid_ranges = dict(valid_ranges or {})
        self.steps = steps
        self.pseudo_solid = pseudo_solid or PSEUDO_SOLID[reference_mesh.dim]
        self._geometric = [p.name for p in study.spec.parameters if p.geometric]
        if self._geometric:
            self._prepare()
        else:  # nothing moves (e.g. an imported part with promoted loads): the identity morph
            self.dim = reference_mesh.dim

    # -- set-up (reference mesh only) ----------------------------------------------------------

    def _prepare(self) -> None:
        mesh = self.reference_mesh
        d = self.dim = mesh.dim
        x = self.x = mesh.points[:, :d].copy()
        t = self.t = _simplices(mesh)
        self.vol, _ = _signed_volumes(x, t)
        if np.any(self.vol == 0):
            raise GeometryError("The reference mesh has flat elements; it cannot be morphed.")
        self.quality = _shape_quality(x, t, self.vol)
        self.names = sorted(mesh.boundaries)
        faces = self.faces = _boundary_facets(x, t)
        region = self.region = _facet_regions(faces, mesh, self.names)
        self.bnodes = np.unique(faces)
        lo, hi = x.min(axis=0), x.max(axis=0)
        self.region_box_domain = (lo, hi)
        self.diag = float(np.linalg.norm(hi - lo))
        tol = 1e-7 * self.diag
        # node classes: per boundary node, its facets grouped by region and by normal direction
        unit = _unit(_raw_normals(x, faces))
        size = np.linalg.norm(_raw_normals(x, faces), axis=1)
        inc_node = faces.ravel()
        inc_face = np.repeat(np.arange(len(faces)), d)
        order = np.argsort(inc_node, kind="stable")
        splits = np.flatnonzero(np.diff(inc_node[order])) + 1
        cls_node, cls_region, cls_rows, cls_cols = [], [], [], []
        for group in np.split(order, splits):
            node = int(inc_node[group[0]])
            fs = inc_face[group]
            for r in np.unique(region[fs]):
                rest = list(fs[region[fs] == r])
                while rest:
                    arr = np.array(rest)
                    mean = unit[arr[np.argmax(size[arr])]]
                    for _ in range(3):
                        members = arr[unit[arr] @ mean >= _COS_FEATURE]
                        mean = _unit((unit[members] * size[members, None]).sum(axis=0))
                    members = set(arr[unit[arr] @ mean >= _COS_FEATURE].tolist()) or {rest[0]}
                    k = len(cls_node)
                    cls_node.append(node)
                    cls_region.append(int(r))
                    cls_rows.extend([k] * len(members))
                    cls_cols.extend(sorted(members))
                    rest = [f for f in rest if f not in members]
        import scipy.sparse as sp

        self.cls_node = np.array(cls_node, dtype=np.int64)
        self.cls_region = np.array(cls_region, dtype=np.int64)
        self.cls_facets = sp.csr_matrix(
            (np.ones(len(cls_rows)), (cls_rows, cls_cols)), shape=(len(cls_node), len(faces)))
        n_cls = np.bincount(self.cls_node, minlength=len(x))
        self.single = np.flatnonzero(n_cls[self.cls_node] == 1)  # classes of one-class nodes
        self.multi_nodes = np.flatnonzero(n_cls > 1)
        # stage-1 constraints: trusted regions (all components) and bounding-box faces
        self.region_nodes = {r: np.unique(faces[region == r]) for r in np.unique(region)}
        self.region_box = {r: (x[n].min(axis=0), x[n].max(axis=0))
                           for r, n in self.region_nodes.items()}
        self.trusted = [r for r, (a, b) in self.region_box.items()
                        if r >= 0 and np.linalg.norm(b - a) < TRUST_FRACTION * self.diag]
        trusted_mask = np.zeros(len(x), dtype=bool)
        for r in self.trusted:
            trusted_mask[self.region_nodes[r]] = True
        self.trusted_mask = trusted_mask
        self.extremes = []  # per component: list of (nodes, region key, side)
        boxes = {**{r: b for r, b in self.region_box.items() if r >= 0}, "domain": (lo, hi)}
        fixed = np.zeros((len(x), d), dtype=bool)
        fixed[trusted_mask] = True
        for k in range(d):
            claims = []
            for key, (a, b) in boxes.items():
                nodes = self.bnodes if key == "domain" else self.region_nodes[key]
                for side, val in ((0, a[k]), (1, b[k])):
                    on = nodes[np.abs(x[nodes, k] - val) <= tol]
                    on = on[~trusted_mask[on]]
                    if len(on):
                        claims.append((on, key, side))
                        fixed[on, k] = True
            self.extremes.append(claims)
        self._fixed_claims = fixed
        self.planes = _plane_levels(x, faces, region, tol)
        self.patches = [(r, n, x[n].min(axis=0), x[n].max(axis=0))
                        for r, n in _curved_patches(x, faces, region, set(self.trusted))]
        self.patches = [p for p in self.patches
                        if np.linalg.norm(p[3] - p[2]) < TRUST_FRACTION * self.diag]
        bmask = np.zeros(len(x), dtype=bool)
        bmask[self.bnodes] = True
        self._boundary_dofs = np.repeat(bmask, d)
        self._patterns: dict = {}  # pseudo-solid sparsity patterns per set of fixed DOFs

    # -- morphing --------------------------------------------------------------------------

    def is_identity(self, values: Mapping[str, float]) -> bool:
        """True when ``values`` has the reference geometry (the reference mesh is returned)."""
        return all(float(values[n]) == float(self.reference_values[n]) for n in self._geometric)

    def morph(
        self,
        values: Mapping[str, float],
        *,
        explain: bool = True,
        progress: ProgressFn = no_progress,
        cancel: CancelToken = NEVER,
    ) -> MeshData:
        """The reference mesh morphed to the geometry at ``values``.

        Raises
        ------
        ParameterError, GeometryError
            Values the study refuses, or a morph that would invert or crush elements (the message
            names the values and, with ``explain``, the morphable range of each changed
            geometric parameter).
        """
        values = self.study.check({**self.reference_values, **dict(values)})
        if self.is_identity(values):
            return self.reference_mesh
        cancel.check()
        progress(0.0, "Meshing the target geometry")
        from physapp.geometry.gmsh_session import boundary_only

        with boundary_only():  # a 2D gmsh mesher meshes the boundary curves only
            target = self.study.build_mesh(values, cancel=cancel)
        cancel.check()
        ref = self.reference_mesh
        if target.n_points == ref.n_points and len(target.cells) == len(ref.cells) and all(
                np.array_equal(a.connectivity, b.connectivity)
                for a, b in zip(target.cells, ref.cells, strict=True)):
            # the study meshes every design with one topology (bottle-top-load): node i already
            # corresponds to node i of the reference, no morph is needed
            return MeshData(target.points, ref.cells, dict(ref.boundaries),
                            dict(ref.subdomains), ref.dim, ref.length_unit)
        progress(0.6, "Morphing the reference mesh")
        mesh, quality = self.morph_to_mesh(target)
        if quality.n_bad or quality.lost_features:
            raise GeometryError(self._refusal(values, quality, explain))
        progress(1.0, "Morphed")
        return mesh

    def morph_to_mesh(self, target: MeshData) -> tuple[MeshData, MorphQuality]:
        """Morph onto the boundary of ``target`` (a mesh of the target geometry); no checks."""
        if target.dim != self.dim:
            raise GeometryError("The target mesh has another dimension than the reference.")
        missing = [n for n in self.names if n not in target.boundaries]
        if missing:
            raise GeometryError(
                f"The target geometry has no boundary region {', '.join(missing)}; it cannot be "
                "morphed from the reference."
            )
        surf = _Surface(target, self.names)
        claimed, goal, lost = self._claims(surf)
        guess = _pseudo_solid(self.x, self.t, claimed, goal, self.steps, *self.pseudo_solid,
                              cache=self._patterns)
        xb = self._project(surf, guess)
        new = _pseudo_solid(guess, self.t, self._boundary_dofs,
                            xb.reshape(-1)[self._boundary_dofs], 1, *self.pseudo_solid,
                            cache=self._patterns)
        quality = self.quality_of(new, lost)
        pts = np.zeros((len(new), 3))
        pts[:, : self.dim] = new
        ref = self.reference_mesh
        mesh = MeshData(pts, ref.cells, dict(ref.boundaries), dict(ref.subdomains), ref.dim,
                        ref.length_unit)
        return mesh, quality

    def quality_of(self, x: np.ndarray, lost: tuple[str, ...] = ()) -> MorphQuality:
        """Volume and shape ratios of the reference elements at node positions ``x``."""
        vol, _ = _signed_volumes(x, self.t)
        total = vol.sum() / self.vol.sum()
        ratio = vol / self.vol / total
        q = _shape_quality(x, self.t, vol) / self.quality
        q = np.where(ratio > 0, q, 0.0)
        bad = (ratio < self.min_volume_ratio) | (q < self.min_quality_ratio)
        return MorphQuality(float(ratio.min()), float(q.min()), int((ratio <= 0).sum()),
                            int(bad.sum()), tuple(lost))

    def _claims(self, surf: _Surface) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
        """The claimed DOFs (mask over ``node * dim + k``) and their target positions: small
        regions and curved patches follow their own bounding boxes, nodes on faces of a
        bounding box or on axis-aligned flat faces keep to them. Also the regions of curved
        patches without a counterpart in the target (a feature that vanished)."""
        x = self.x
        boxes = {}
        for r in self.region_box:
            if r < 0:
                continue
            sel = np.unique(surf.faces[surf.region == r])
            boxes[r] = (surf.x[sel].min(axis=0), surf.x[sel].max(axis=0))
        tb = np.unique(surf.faces)
        boxes["domain"] = (surf.x[tb].min(axis=0), surf.x[tb].max(axis=0))
        lo, hi = self.region_box_domain
        tlo, thi = boxes["domain"]
        total = np.zeros_like(x)
        count = np.zeros(len(x))

        def box_map(nodes, a, b, ta, tb_):
            ext = b - a
            flat = ext <= 1e-9 * self.diag
            scale = np.where(flat, 1.0, (tb_ - ta) / np.where(flat, 1.0, ext))
            return 0.5 * (ta + tb_) + (x[nodes] - 0.5 * (a + b)) * scale

        for r in self.trusted:
            nodes = self.region_nodes[r]
            total[nodes] += box_map(nodes, *self.region_box[r], *boxes[r])
            count[nodes] += 1
        # small curved patches (fillets): matched to the target patch of the same region whose
        # box centre is nearest (after the affine map), mutually; they follow their own box
        tpatch = [(r, n, surf.x[n].min(axis=0), surf.x[n].max(axis=0))
                  for r, n in _curved_patches(surf.x, surf.faces, surf.region, set(self.trusted))]
        patch_total = np.zeros_like(x)
        patch_count = np.zeros(len(x))
        lost = [self.names[p[0]] if p[0] >= 0 else "boundary" for p in self.patches]
        if self.patches and tpatch:
            rc = np.array([tlo + (0.5 * (p[2] + p[3]) - lo) * (thi - tlo) / (hi - lo)
                           for p in self.patches])
            tc = np.array([0.5 * (p[2] + p[3]) for p in tpatch])
            dist = np.linalg.norm(rc[:, None, :] - tc[None, :, :], axis=2)
            rr = np.array([p[0] for p in self.patches])
            tr = np.array([p[0] for p in tpatch])
            dist[rr[:, None] != tr[None, :]] = np.inf
            for i, p in enumerate(self.patches):
                j = int(np.argmin(dist[i]))
                if np.isfinite(dist[i, j]) and int(np.argmin(dist[:, j])) == i:
                    q = tpatch[j]
                    patch_total[p[1]] += box_map(p[1], p[2], p[3], q[2], q[3])
                    patch_count[p[1]] += 1
                    lost[i] = ""
        goal = np.zeros_like(x)
        num = np.zeros_like(x)
        trusted = count > 0
        goal[trusted] = total[trusted] / count[trusted, None]
        num[trusted] = 1.0
        for k in range(self.dim):
            for nodes, key, side in self.extremes[k]:
                goal[nodes, k] += boxes[key][side][k]
                num[nodes, k] += 1
        # flat axis-aligned faces: the i-th plane of a (region, axis, side) goes to the i-th
        tol = 1e-7 * self.diag
        target_planes = _plane_levels(surf.x, surf.faces, surf.region, tol)
        for key, (levels, nodes) in self.planes.items():
            other = target_planes.get(key)
            if other is None or len(other[0]) != len(levels):
                continue  # the faces differ: leave them to the projection
            k = key[1]
            for level, on in zip(other[0], nodes, strict=True):
                on = on[~trusted[on]]
                goal[on, k] += level
                num[on, k] += 1
        patched = (patch_count > 0) & ~trusted
        goal[patched] += patch_total[patched] / patch_count[patched, None]
        num[patched] += 1
        claimed = (num > 0).reshape(-1)
        goal = goal.reshape(-1)[claimed] / num.reshape(-1)[claimed]
        return claimed, goal, tuple(sorted({n for n in lost if n}))

    def _project(self, surf: _Surface, guess: np.ndarray) -> np.ndarray:
        """Boundary node positions on the target surface (rows of non-boundary nodes: guess)."""
        out = guess.copy()
        normals = _unit(self.cls_facets @ _raw_normals(guess, self.faces))
        one = self.single
        for r in np.unique(self.cls_region[one]):
            sel = one[self.cls_region[one] == r]
            nodes = self.cls_node[sel]
            q, _ = surf.closest(int(r), guess[nodes], normals[sel])
            out[nodes] = q
        multi = self.multi_nodes
        if len(multi) == 0:
            return out
        # edge and corner nodes: alternate linearised projections onto each class's surface
        pos = np.full(len(self.x), -1)
        pos[multi] = np.arange(len(multi))
        cls = np.flatnonzero(np.isin(self.cls_node, multi))
        owner = pos[self.cls_node[cls]]
        x0 = guess[multi]
        xm = x0.copy()
        d = self.dim
        counts = np.bincount(owner, minlength=len(multi))
        order = np.argsort(owner, kind="stable")
        for _ in range(8):
            nrm = np.zeros((len(cls), d))
            rhs = np.zeros(len(cls))
            for r in np.unique(self.cls_region[cls]):
                s = np.flatnonzero(self.cls_region[cls] == r)
                q, n = surf.closest(int(r), xm[owner[s]], normals[cls[s]])
                nrm[s], rhs[s] = n, np.einsum("ij,ij->i", n, q)
            new = xm.copy()
            for m in np.unique(counts):
                nodes = np.flatnonzero(counts == m)
                rows = order[np.isin(owner[order], nodes)].reshape(len(nodes), m)
                nmat = nrm[rows]  # (k, m, d)
                res = rhs[rows] - np.einsum("kmd,kd->km", nmat, x0[nodes])
                gram = np.einsum("kmd,knd->kmn", nmat, nmat)
                lam = np.einsum("kmn,kn->km", np.linalg.pinv(gram, rcond=1e-8), res)
                new[nodes] = x0[nodes] + np.einsum("kmd,km->kd", nmat, lam)
            change = np.abs(new - xm).max()
            xm = new
            if change <= 1e-12 * self.diag:
                break
        out[multi] = xm
        return out

    # -- refusal messages ------------------------------------------------------------------

    def _refusal(self, values: Mapping[str, float], quality: MorphQuality, explain: bool) -> str:
        changed = [n for n in self._geometric
                   if float(values[n]) != float(self.reference_values[n])]
        what = ", ".join(f"{n} = {_fmt(self.study, n, values[n])}" for n in changed)
        if quality.lost_features:
            how = (f"a curved face of region {', '.join(quality.lost_features)} of the reference "
                   "has no counterpart in the target (a fillet or rounded edge that vanished?)")
        elif quality.n_inverted:
            how = f"{quality.n_inverted} element(s) would turn inside out"
        elif quality.min_volume_ratio < self.min_volume_ratio:
            how = (f"an element would shrink to {max(quality.min_volume_ratio, 0) * 100:.3g}% "
                   f"of its size (limit {self.min_volume_ratio * 100:.3g}%)")
        else:
            how = (f"an element's shape quality would drop to {quality.min_quality_ratio * 100:.3g}"
                   f"% of the reference (limit {self.min_quality_ratio * 100:.3g}%)")
        msg = f"The reference mesh cannot be morphed to {what}: {how}."
        ranges = []
        for n in changed:
            rng = self.valid_ranges.get(n)
            if rng is None and explain:
                try:
                    rng = valid_range(self.study, self.reference_values, n, morpher=self)
                except ParameterError:
                    rng = None
            if rng is not None:
                self.valid_ranges[n] = rng
                ranges.append(f"{n} must stay within [{_fmt(self.study, n, rng[0])}, "
                              f"{_fmt(self.study, n, rng[1])}]")
        if ranges:
            msg += (" With the other parameters at the reference, " + "; ".join(ranges)
                    + " for this dataset.")
        return msg + (" Choose values nearer the reference, or build a dataset whose reference "
                      "geometry is closer to them.")


def valid_range(
    study: Study,
    reference_values: Mapping[str, float] | None,
    name: str,
    *,
    morpher: Morpher | None = None,
    lower: float | None = None,
    upper: float | None = None,
    rtol: float = 0.02,
    scan: int = 4,
    progress: ProgressFn = no_progress,
    cancel: CancelToken = NEVER,
) -> tuple[float, float]:
    """The interval of parameter ``name`` (others at the reference) where the morph is valid.

    From the reference value towards each bound (``lower``/``upper``, default the parameter's
    range): ``scan`` equally spaced trials up to the bound, then bisection between the last valid
    and the first invalid one to a tolerance of ``rtol`` times the range. Values the study refuses
    count as invalid. Non-geometric parameters are valid over their whole range.
    """
    morpher = morpher or Morpher(study, reference_values)
    p = study.spec.parameter(name)
    lo = p.lower if lower is None else float(lower)
    hi = p.upper if upper is None else float(upper)
    ref = float(morpher.reference_values[name])
    if not p.geometric:
        return lo, hi
    if not lo <= ref <= hi:
        raise ParameterError(
            f"The reference {name} = {_fmt(study, name, ref)} lies outside "
            f"[{_fmt(study, name, lo)}, {_fmt(study, name, hi)}]."
        )
    tol = rtol * (hi - lo)

    def ok(v: float) -> bool:
        cancel.check()
        try:
            morpher.morph({**morpher.reference_values, name: v}, explain=False, cancel=cancel)
        except (GeometryError, ParameterError):
            return False
        return True

    out = []
    for i, bound in enumerate((lo, hi)):
        # scan from the reference towards the bound (the valid set need not be an interval: a
        # fillet radius of exactly 0 morphs, small positive radii do not), then bisect
        good, bad = ref, None
        for k in range(1, scan + 1):
            progress(0.5 * i + 0.5 * k / (scan + 8), f"Morphable range of {name}")
            v = bound if k == scan else ref + (bound - ref) * k / scan
            if v == ref:
                continue
            if not ok(v):
                bad = v
                break
            good = v
        if bad is not None:
            while abs(bad - good) > tol:
                mid = 0.5 * (good + bad)
                if ok(mid):
                    good = mid
                else:
                    bad = mid
        out.append(good)
    progress(1.0, f"Morphable range of {name}")
    return out[0], out[1]


def morph_mesh(
    study: Study,
    reference_values: Mapping[str, float] | None,
    values: Mapping[str, float],
    reference_mesh: MeshData | None = None,
) -> MeshData:
    """One-shot :meth:`Morpher.morph` (builds the reference mesh unless given)."""
    return Morpher(study, reference_values, reference_mesh).morph(values)
