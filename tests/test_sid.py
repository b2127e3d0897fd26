import numpy as np
import pytest

from recgen.errors import CatalogError, InputError, SIDError
from recgen.schemas import DSID
from recgen.sid.catalog import clean_text, load_catalog
from recgen.sid.creative import PRESETS, preset_style
from recgen.sid.encoders import style_features, style_from_features
from recgen.sid.rqkmeans import RQKMeans, balanced_assign
from recgen.sid.semantics import load_sid_space

from .conftest import DATA_DIR


def test_rqkmeans_is_deterministic_and_reduces_error():
    x = np.random.default_rng(1).normal(size=(300, 16))
    a = RQKMeans((8, 8), seed=3).fit(x)
    b = RQKMeans((8, 8), seed=3).fit(x)
    assert np.array_equal(a.encode(x), b.encode(x))
    one = RQKMeans((8,), seed=3).fit(x).report(x)["reconstruction_error"]
    two = a.report(x)["reconstruction_error"]
    assert two < one < 1.0


def test_rqkmeans_decode_of_codes_is_the_sum_of_centroids():
    x = np.random.default_rng(2).normal(size=(100, 4))
    rq = RQKMeans((4, 4), seed=0).fit(x)
    codes = rq.encode(x[:5])
    expected = rq.codebooks[0][codes[:, 0]] + rq.codebooks[1][codes[:, 1]]
    assert np.allclose(rq.decode(codes), expected)
    assert np.array_equal(rq.encode(rq.decode(codes)), codes)  # a centroid sum re-encodes to its own code


def test_unique_encoding_separates_colliding_items_at_least_total_distance():
    from itertools import permutations

    # one first-level code for everything; second level: four centroids; items 0-2 sit near centroid 0
    rq = RQKMeans.from_arrays(
        {"codebook0": np.zeros((1, 2)), "codebook1": np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [3.0, 3.0]])}
    )
    # nearest-free-centroid in item order would give item 0 centroid 0 and item 1 a far one; the optimum swaps
    x = np.array([[0.45, 0.0], [0.0, 0.0], [0.0, 0.2], [2.9, 3.1]])
    plain, unique = rq.encode(x), rq.encode(x, unique=True)
    assert plain[:3, 1].tolist() == [0, 0, 0]
    assert rq.report(x)["collision_rate"] == 0.75 and rq.report(x, unique=True)["collision_rate"] == 0.0
    cost = ((x[:, None, :] - rq.codebooks[1][None]) ** 2).sum(-1)
    best = min(sum(cost[i, c] for i, c in enumerate(p)) for p in permutations(range(4), 4))
    assert np.isclose(sum(cost[i, c] for i, c in enumerate(unique[:, 1])), best)
    assert unique[:, 1].tolist() == [1, 0, 2, 3]


def test_unique_encoding_keeps_collision_free_prefixes_and_first_levels():
    x = np.random.default_rng(4).normal(size=(400, 6))
    x[:40] = x[0] + 0.01 * np.random.default_rng(5).normal(size=(40, 6))  # a tight cluster that collides
    rq = RQKMeans((4, 128), seed=0).fit(x)
    plain, unique = rq.encode(x), rq.encode(x, unique=True)
    assert rq.report(x)["collision_rate"] > 0.1 and rq.report(x, unique=True)["collision_rate"] == 0.0
    assert np.array_equal(plain[:, 0], unique[:, 0])
    for prefix in np.unique(plain[:, 0]):
        members = plain[:, 0] == prefix
        if len(np.unique(plain[members, 1])) == members.sum():
            assert np.array_equal(plain[members], unique[members])


def test_balanced_assignment_respects_capacity_and_keeps_the_closest():
    # every row is nearest to column 0, which holds two: the two closest rows keep it
    d = np.array([[0.3, 5.0, 9.0], [0.1, 4.0, 9.0], [0.2, 1.0, 9.0], [0.4, 6.0, 2.0], [0.5, 3.0, 8.0]])
    assert balanced_assign(d, 2).tolist() == [1, 0, 0, 2, 1]
    x = np.random.default_rng(6).normal(size=(50, 7))
    assert np.array_equal(balanced_assign(x, 50), x.argmin(1))  # room for all: plain nearest
    counts = np.bincount(balanced_assign(x, 8), minlength=7)
    assert counts.sum() == 50 and counts.max() <= 8
    with pytest.raises(SIDError, match="cannot hold"):
        balanced_assign(x, 7)


def test_balanced_rqkmeans_spreads_a_dense_cluster_over_codes():
    x = np.random.default_rng(4).normal(size=(400, 6))
    x[:120] = x[0] + 0.05 * np.random.default_rng(5).normal(size=(120, 6))  # popular items, densely packed
    plain = RQKMeans((8, 64), seed=0).fit(x).encode(x)
    bal = RQKMeans((8, 64), seed=0, balanced=True).fit(x)
    codes = bal.encode(x, balanced=True)
    assert len(np.unique(plain[:120, 0])) == 1  # plain k-means gives the whole cluster one first code
    assert len(np.unique(codes[:120, 0])) >= 3 and np.bincount(codes[:, 0]).max() <= 50
    assert np.bincount(codes[:, 1]).max() <= 7  # ceil(400 / 64)
    again = RQKMeans((8, 64), seed=0, balanced=True).fit(x).encode(x, balanced=True)
    assert np.array_equal(codes, again)


def test_weighted_rqkmeans_spends_codes_where_the_weight_is():
    x = np.random.default_rng(6).uniform(0, 10, (400, 1))
    heavy = np.where(x[:, 0] > 5, 100.0, 1.0)  # the right half: the items most interactions go to
    plain = RQKMeans((8,), seed=0).fit(x).codebooks[0]
    weighted = RQKMeans((8,), seed=0).fit(x, heavy).codebooks[0]
    assert abs((plain[:, 0] > 5).sum() - 4) <= 1
    assert (weighted[:, 0] > 5).sum() >= 6
    right = x[x[:, 0] > 5]
    err_plain, err_weighted = (np.abs(right - cb.T).min(1).mean() for cb in (plain, weighted))
    assert err_weighted < 0.8 * err_plain  # finer codes for the heavy items
    assert np.array_equal(weighted, RQKMeans((8,), seed=0).fit(x, heavy).codebooks[0])
    with pytest.raises(SIDError, match="positive finite"):
        RQKMeans((8,), seed=0).fit(x, np.r_[heavy[:-1], 0.0])
    with pytest.raises(SIDError, match="one per vector"):
        RQKMeans((8,), seed=0).fit(x, heavy[:10])


def test_rqkmeans_rejects_bad_codes_and_sizes():
    rq = RQKMeans((4, 4), seed=0).fit(np.random.default_rng(0).normal(size=(50, 3)))
    with pytest.raises(SIDError, match="outside 0..3"):
        rq.decode((9, 0))
    with pytest.raises(SIDError, match="3-dimensional"):
        rq.encode(np.zeros((1, 5)))


def test_the_catalog_is_every_beauty_item_cleaned_and_indexed(cache_dir):
    cat = load_catalog(DATA_DIR, cache_dir)
    assert len(cat) == 12101 and cat.name == "Beauty"
    assert [p.id for p in cat.products[:3]] == ["0", "1", "2"] and cat.products[-1].id == "12100"
    assert all("&amp;" not in p.title and "&quot;" not in p.title for p in cat.products)
    assert clean_text("Charcoal &amp; Black") == "Charcoal & Black"
    assert cat.get(0).categories == ("Beauty", "Makeup", "Nails", "Nail Polish") and cat.get(0).brand == "OPI"
    assert cat.get("8").description  # the sample items keep their short descriptions as extra text
    assert cat.get("5000").description == ""  # the rest have none: no text is invented
    assert load_catalog(DATA_DIR, cache_dir) is cat  # kept per process
    with pytest.raises(CatalogError, match=r"no product '12101' in the Beauty catalog \(12,101 items, ids 0–12100\)"):
        cat.get("12101")
    with pytest.raises(CatalogError, match="no product 'nope'"):
        cat.get("nope")


def test_a_catalog_item_has_a_brand_only_where_the_data_or_its_title_marks_one(cache_dir):
    from recgen.sid.catalog import marked_brand

    cat = load_catalog(DATA_DIR, cache_dir)
    assert cat.get("100").brand == "Red Cherry"  # the data's brand
    assert cat.get("2").brand is None  # 'SKIN79 The Prestige …': no brand in the data, no mark in the title
    assert marked_brand("Silicon MIX Intensive Hair Deep Treatment 16oz By Avanti") == "Avanti"
    assert marked_brand("Belloccio® FAIR Complexion Airbrush Makeup") == "Belloccio"
    assert marked_brand("Red Cherry False Eyelashes #WSP (Pack of 3)") is None


def test_the_catalog_cache_is_rebuilt_when_damaged_and_bad_records_are_named(tmp_path):
    from recgen.sid.catalog import forget_loaded_catalogs, parse_beauty_items

    data = tmp_path / "data" / "amazon-beauty"
    data.mkdir(parents=True)
    (data / "Beauty.item.json").write_text(
        '{"0": {"title": "OPI Nail Lacquer", "brand": "OPI", '
        '"category_paths": [["Beauty", "Makeup", "Nails", "Nail Polish"]]}}'
    )
    cache = tmp_path / "cache"
    first = load_catalog(tmp_path / "data", cache)
    (pkl,) = (cache / "catalog").glob("*.pkl")
    pkl.write_bytes(b"not a pickle")
    forget_loaded_catalogs()
    again = load_catalog(tmp_path / "data", cache)
    assert again.get("0").title == first.get("0").title == "OPI Nail Lacquer"
    with pytest.raises(CatalogError, match="item '3' has no title"):
        parse_beauty_items('{"3": {"brand": "X"}}', "items.json")
    with pytest.raises(CatalogError, match="category_paths must be a list"):
        parse_beauty_items('{"3": {"title": "A cream", "category_paths": "Beauty"}}', "items.json")
    with pytest.raises(CatalogError, match="not there"):
        load_catalog(tmp_path / "nowhere", cache)


def test_style_features_round_trip_and_presets():
    for name in PRESETS:
        s = preset_style(name)
        back = style_from_features(style_features(s))
        assert np.allclose(back.as_list(), s.as_list(), atol=1e-9)
    with pytest.raises(InputError, match="unknown creative style"):
        preset_style("neon-vaporwave")


def test_sid_space_encodes_presets_to_distinct_codes_and_decodes(small):
    space = load_sid_space(small.data_dir, small.cache_dir)
    codes = {name: space.resolve_creative(name) for name in PRESETS}
    assert len(set(codes.values())) >= 6  # presets land in different creative codes
    product = space.catalog.get("8")
    dsid = space.dsid_for(product, "bold-discount")
    sem = space.decode(dsid, product)
    assert sem.creative.preset == "bold-discount"
    assert sem.content.product_type == "dropper"
    assert sem.content.nearest_items[0] == product.title[:80]  # an item's own codes name the item first
    calm = space.decode(space.dsid_for(product, "calm-luxury"), product).creative
    assert calm.tempo_bpm < sem.creative.tempo_bpm and calm.shot_seconds > sem.creative.shot_seconds


def test_one_content_space_over_the_whole_catalog(small):
    """Every item has a code of its own (3 × 256 residual codes + a disambiguation code), decoding an
    item's codes names that item first, and the space's name carries the fingerprint of what it was fitted
    on."""
    space = load_sid_space(small.data_dir, small.cache_dir)
    assert space.item_codes.shape == (12101, 4) and [len(cb) for cb in space.content_rq.codebooks] == [256] * 3
    assert len({tuple(c) for c in space.item_codes}) == 12101
    assert space.name == f"beauty-text-{space.fingerprint}" and len(space.fingerprint) == 16
    rng = np.random.default_rng(7)
    for i in rng.choice(12101, 25, replace=False):
        item = space.catalog.products[i]
        codes = space.content_codes(item)
        assert codes == tuple(space.item_codes[i]) and space.item_of(codes) == item
        assert space.nearest_items(codes)[0].id == item.id
    # a product outside the catalog takes the next free code of its group, which no catalog item has
    mine = space.catalog.get("8").model_copy(update={"id": "my-serum"})
    code = space.content_codes(mine)
    assert code[:3] == tuple(space.item_codes[8][:3]) and space.item_of(code) is None
    assert code[3] == space.group_size(code)


def test_dsid_parsing_and_unknown_codes(small):
    assert DSID.parse("c1.2/s3.0") == DSID(content=(1, 2), creative=(3, 0))
    space = load_sid_space(small.data_dir, small.cache_dir)
    with pytest.raises(SIDError, match="outside"):
        space.resolve_creative("s99.0")
    with pytest.raises(SIDError, match="levels"):
        space.resolve_creative("s1.2.3")
    with pytest.raises(SIDError, match="4 levels"):
        space.dsid_for(space.catalog.get("1"), "c42.0/s1.0")
    with pytest.raises(SIDError, match="outside 0..255"):
        space.dsid_for(space.catalog.get("1"), "c300.0.0.0/s1.0")


def test_item_encoders_text_collaborative_and_both(small):
    from recgen.sid.encoders import CollaborativeEncoder, ConcatItemEncoder, MiniLMTextEncoder, TextItemEncoder

    seqs = (np.array([0, 1, 2, 3]), np.array([0, 1, 4]), np.array([2, 3, 4]), np.array([1, 0, 2]))
    collab = CollaborativeEncoder(dim=3)
    table = collab.fit(seqs, 5)
    assert table.shape == (5, 3) and np.allclose(np.linalg.norm(table, axis=1), 1, atol=1e-5)
    text = TextItemEncoder(
        {0: "nail polish", 1: "red nail lacquer", 2: "face cream"}, MiniLMTextEncoder(small.cache_dir)
    )
    sims = text.encode_items(np.array([0, 1, 2])) @ text.encode_items(np.array([0]))[0]
    assert sims[1] > sims[2]  # polish is nearer lacquer than cream
    both = ConcatItemEncoder(text, collab)
    assert both.encode_items(np.array([0, 2])).shape == (2, 384 + 3) and both.dim == 387
    with pytest.raises(ValueError, match="no text"):
        text.encode_items(np.array([4]))
    rq = RQKMeans((2,), seed=0).fit(collab.encode_items(np.arange(5)))
    with pytest.raises(SIDError, match="3-dimensional"):
        rq.encode(both.encode_items(np.array([0])))  # wrong embedding size


def test_collaborative_window_decides_which_items_co_occur():
    """Items always two steps apart only become neighbours once the window reaches them."""
    from recgen.sid.encoders import CollaborativeEncoder

    rng = np.random.default_rng(0)
    seqs = []
    for _ in range(200):
        a = int(rng.integers(0, 5))
        seqs.append(np.array([a, 10 + rng.integers(0, 20), 5 + a]))  # a … 5+a, a random item between
        seqs.append(np.array([30 + rng.integers(0, 10), 5 + rng.integers(0, 5), 30 + rng.integers(0, 10)]))
    near, far = (CollaborativeEncoder(dim=8, window=w).fit(tuple(seqs), 40) for w in (2, 1))
    assert near.shape == far.shape == (40, 8)
    for a in range(5):
        assert near[a] @ near[5 + a] > far[a] @ far[5 + a] + 0.1


def test_item_table_encoder_from_a_trained_sequence_model():
    from recgen.sid.baselines import SASRec
    from recgen.sid.encoders import TableItemEncoder

    sas = SASRec(6, d_model=8, n_layer=1)
    enc = TableItemEncoder.from_sasrec(sas)
    emb = enc.encode_items(np.arange(6))
    assert emb.shape == (6, 8) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    raw = sas.item.weight.detach().numpy()[1:]  # row 0 pads; item i is row i + 1
    assert np.allclose(emb[2], raw[2] / np.linalg.norm(raw[2]), atol=1e-6)
    with pytest.raises(ValueError, match="0..5"):
        enc.encode_items(np.array([6]))
    with pytest.raises(ValueError, match="2-D"):
        TableItemEncoder(np.zeros(4))
