using System.Text.Json;
using FrSpec.Formats.Torch;

namespace FrSpec.Tests.Formats;

public class TorchCheckpointTests
{
    private static int[] ExpectedInts(string name) =>
        TorchFixtures.Expected(name).EnumerateArray().Select(e => e.GetInt32()).ToArray();

    [Theory]
    [InlineData("freq_list_3000.pt")]
    [InlineData("tuple_ints.pt")]
    [InlineData("long_tensor.pt")]
    [InlineData("int_tensor.pt")]
    public void ReadIntList_matches_torch(string file)
    {
        var ids = TorchCheckpoint.ReadIntList(TorchFixtures.PathOf(file));
        Assert.Equal(ExpectedInts(file), ids);
    }

    [Fact]
    public void ReadIntList_reads_path_saved_archive_and_edge_lists()
    {
        Assert.Equal(ExpectedInts("freq_list_3000.pt"), TorchCheckpoint.ReadIntList(TorchFixtures.PathOf("freq_list_path.pt")));
        Assert.Equal(ExpectedInts("freq_list_3000.pt"), TorchCheckpoint.ReadIntList(TorchFixtures.PathOf("freq_list_proto4.pt")));
        Assert.Empty(TorchCheckpoint.ReadIntList(TorchFixtures.PathOf("freq_list_empty.pt")));
        Assert.Equal(new[] { 65536 }, TorchCheckpoint.ReadIntList(TorchFixtures.PathOf("freq_list_one.pt")));
        Assert.Equal(Enumerable.Range(0, 1001), TorchCheckpoint.ReadIntList(TorchFixtures.PathOf("freq_list_1001.pt")));
    }

    [Theory]
    [InlineData("state_dict_simple.pt")]
    [InlineData("state_dict_path.pt")]
    [InlineData("state_dict_shared.pt")]
    [InlineData("state_dict_proto4.pt")]
    public void ReadStateDict_matches_torch(string file)
    {
        var expected = TorchFixtures.Expected(file switch
        {
            "state_dict_path.pt" => "state_dict_simple.pt",
            "state_dict_proto4.pt" => "state_dict_shared.pt",
            _ => file,
        });
        var sd = TorchCheckpoint.ReadStateDict(TorchFixtures.PathOf(file));
        Assert.Equal(expected.EnumerateObject().Select(p => p.Name).OrderBy(n => n, StringComparer.Ordinal),
            sd.Keys.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var p in expected.EnumerateObject())
        {
            var t = sd[p.Name];
            Assert.Equal(DTypeOf(p.Value.GetProperty("dtype").GetString()!), t.DType);
            Assert.Equal(p.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()), t.Shape);
            var want = p.Value.GetProperty("values").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            if (t.DType.IsInteger() || t.DType == TorchDType.Bool)
                Assert.Equal(want.Select(v => (long)v), t.ToInt64Array());
            else
                Assert.Equal(want.Select(v => (float)v), t.ToFloat32Array());
        }
    }

    [Fact]
    public void Shared_storage_views_are_materialised()
    {
        var sd = TorchCheckpoint.ReadStateDict(TorchFixtures.PathOf("state_dict_shared.pt"));
        // transposed view of arange(24).reshape(4,6): row 0 = 0,6,12,18
        Assert.Equal(new long[] { 6, 4 }, sd["transposed"].Shape);
        Assert.Equal(new float[] { 0, 6, 12, 18 }, sd["transposed"].ToFloat32Array()[..4]);
        Assert.Equal(new float[] { 12, 13, 14, 15, 16, 17 }, sd["row2"].ToFloat32Array());
        Assert.Equal(sd["embed.weight"].ToFloat32Array(), sd["lm_head.weight"].ToFloat32Array());
        Assert.Equal(TorchDType.Float64, sd["param"].DType);
    }

    [Theory]
    [InlineData("freq_list_3000.pt", TorchArchiveName.FileObject)]
    [InlineData("freq_list_path.pt", TorchArchiveName.FileStem)]
    [InlineData("freq_list_empty.pt", TorchArchiveName.FileObject)]
    [InlineData("freq_list_one.pt", TorchArchiveName.FileObject)]
    [InlineData("freq_list_1001.pt", TorchArchiveName.FileObject)]
    public void WriteIntList_is_byte_exact_with_torch(string file, TorchArchiveName archive)
    {
        var ids = TorchCheckpoint.ReadIntList(TorchFixtures.PathOf(file));
        using var tmp = new TorchFixtures.TempDir();
        string outPath = tmp.File(file); // same file name, so the FileStem prefix matches
        TorchCheckpointWriter.WriteIntList(outPath, ids, archive);
        Assert.Equal(File.ReadAllBytes(TorchFixtures.PathOf(file)), File.ReadAllBytes(outPath));
    }

    [Theory]
    [InlineData("state_dict_simple.pt", TorchArchiveName.FileObject)]
    [InlineData("state_dict_path.pt", TorchArchiveName.FileStem)]
    public void WriteStateDict_is_byte_exact_with_torch(string file, TorchArchiveName archive)
    {
        // Built from scratch (not copied from the reader) with the same values as make_fixtures.py.
        var f32 = Enumerable.Range(0, 12).Select(i => i / 8f - 0.5f).ToArray();
        var f16 = Enumerable.Range(0, 6).Select(i => i * 1.25f - 2f).ToArray();
        var bf16 = Enumerable.Range(0, 5).Select(i => i * 0.75f + 1f).ToArray();
        var tensors = new List<(string, TorchTensor)>
        {
            ("fc.weight", TorchTensor.FromFloat32(f32, 3, 4)),
            ("layers.0.post_attention_layernorm.weight", TorchTensor.FromFloat16(f16, 2, 3)),
            ("norm.weight", TorchTensor.FromBFloat16(bf16, 5)),
            ("scalar", TorchTensor.FromFloat32(new[] { 2.5f })),
        };
        using var tmp = new TorchFixtures.TempDir();
        string outPath = tmp.File(file);
        TorchCheckpointWriter.WriteStateDict(outPath, tensors, archive);
        Assert.Equal(File.ReadAllBytes(TorchFixtures.PathOf(file)), File.ReadAllBytes(outPath));
    }

    [Fact]
    public void WriteStateDict_round_trips_many_tensors_and_shared_instances()
    {
        var shared = TorchTensor.FromFloat32(new float[] { 1, 2, 3, 4 }, 2, 2);
        var list = new List<(string, TorchTensor)> { ("a", shared), ("tied", shared) };
        for (int i = 0; i < 1005; i++) list.Add(($"t{i}", TorchTensor.FromBFloat16(new float[] { i, -i }, 2)));
        using var tmp = new TorchFixtures.TempDir();
        TorchCheckpointWriter.WriteStateDict(tmp.File("m.pt"), list);
        var back = TorchCheckpoint.ReadStateDict(tmp.File("m.pt"));
        Assert.Equal(1007, back.Count);
        Assert.Equal(new float[] { 1, 2, 3, 4 }, back["tied"].ToFloat32Array());
        Assert.Equal(new float[] { 1004, -1004 }, back["t1004"].ToFloat32Array());
    }

    [Fact]
    public void Sharded_index_json_merges_shards()
    {
        using var tmp = new TorchFixtures.TempDir();
        TorchCheckpointWriter.WriteStateDict(tmp.File("pytorch_model-00001-of-00002.bin"), new List<(string, TorchTensor)> { ("a", TorchTensor.FromFloat32(new float[] { 1 }, 1)) });
        TorchCheckpointWriter.WriteStateDict(tmp.File("pytorch_model-00002-of-00002.bin"), new List<(string, TorchTensor)> { ("b", TorchTensor.FromFloat32(new float[] { 2 }, 1)) });
        File.WriteAllText(tmp.File("pytorch_model.bin.index.json"),
            """{"metadata":{"total_size":8},"weight_map":{"a":"pytorch_model-00001-of-00002.bin","b":"pytorch_model-00002-of-00002.bin"}}""");
        var sd = TorchCheckpoint.ReadStateDict(tmp.File("pytorch_model.bin.index.json"));
        Assert.Equal(2f, sd["b"].ToFloat32Array()[0]);
        Assert.Equal(2, sd.Count);
    }

    private static TorchDType DTypeOf(string torchName) => torchName switch
    {
        "float32" => TorchDType.Float32,
        "float16" => TorchDType.Float16,
        "bfloat16" => TorchDType.BFloat16,
        "float64" => TorchDType.Float64,
        "int64" => TorchDType.Int64,
        "int32" => TorchDType.Int32,
        "bool" => TorchDType.Bool,
        _ => throw new ArgumentException(torchName),
    };
}
