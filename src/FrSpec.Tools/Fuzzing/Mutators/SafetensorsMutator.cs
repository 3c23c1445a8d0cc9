using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace FrSpec.Fuzzing.Mutators;

/// <summary>
/// Structure-aware mutations of a .safetensors file: its JSON header (dtype, shape and data_offsets given boundary and
/// wrong-kind values), the header-length prefix, and the tensor data (including NaN and ∞ written into weights).
/// </summary>
public static class SafetensorsMutator
{
    private static readonly JsonMutator Header = new(new Dictionary<string, JsonNode?[]>
    {
        ["dtype"] = ["F32", "F16", "BF16", "F64", "I64", "I8", "BOOL", "F8_E4M3", "Q4", "", "f32"],
        ["shape"] = [new JsonArray(), new JsonArray(0), new JsonArray(-1), new JsonArray(1L << 40, 1L << 40), new JsonArray(64, 64, 64, 64, 64, 64),
            new JsonArray(300, 64), new JsonArray(64, 300), new JsonArray(long.MaxValue), new JsonArray(1.5), new JsonArray("64")],
        ["data_offsets"] = [new JsonArray(0, 0), new JsonArray(-1, 5), new JsonArray(long.MaxValue, long.MaxValue), new JsonArray(5, 4),
            new JsonArray(0, 1L << 40), new JsonArray(0), new JsonArray(0, 4, 8), new JsonArray("0", "4")],
        ["__metadata__"] = [new JsonObject { ["format"] = 1 }, new JsonArray(), "pt"],
    });

    /// <summary>A mutated copy of the file and what was done.</summary>
    public static (byte[] Bytes, string What) Mutate(byte[] file, Random rng)
    {
        if (file.Length < 8) return BinaryMutator.Mutate(file, rng);
        long n = BinaryPrimitives.ReadInt64LittleEndian(file);
        if (n <= 0 || 8 + n > file.Length) return BinaryMutator.Mutate(file, rng);
        int headerEnd = (int)(8 + n);
        switch (rng.Next(10))
        {
            case < 5:
            {
                var (header, what) = Header.Mutate(file[8..headerEnd], rng);
                var b = new byte[8 + header.Length + file.Length - headerEnd];
                BinaryPrimitives.WriteInt64LittleEndian(b, header.Length);
                header.CopyTo(b, 8);
                file.AsSpan(headerEnd).CopyTo(b.AsSpan(8 + header.Length));
                return (b, "header: " + what);
            }
            case 5:
            {
                ulong v = rng.Next(2) == 0 ? BinaryMutator.Boundary[rng.Next(BinaryMutator.Boundary.Length)] : (ulong)(n + rng.Next(-8, 9));
                return (BinaryMutator.Patch(file, 0, 8, v), $"header length {n} -> {(long)v}");
            }
            case 6 when file.Length - headerEnd >= 4:
            {
                // NaN or ∞ in a weight: bf16/f16/f32 patterns (the high half of an f32 NaN is a bf16 NaN).
                int at = headerEnd + rng.Next((file.Length - headerEnd) / 2) * 2;
                ushort v = rng.Next(4) switch { 0 => 0x7FC0, 1 => 0x7F80, 2 => 0xFF80, _ => 0x7E00 };
                return (BinaryMutator.Patch(file, at, 2, v), $"0x{v:X4} (NaN/∞) written at byte {at} of the data");
            }
            case 7:
            {
                var (b, what) = BinaryMutator.Mutate(file, rng, headerEnd, file.Length);
                return (b, "data: " + what);
            }
            default:
            {
                var (b, what) = BinaryMutator.Mutate(file, rng, 0, headerEnd);
                return (b, "header bytes: " + what);
            }
        }
    }
}
