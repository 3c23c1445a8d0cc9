using System.Buffers.Binary;
using System.Text;

namespace FrSpec.Fuzzing.Mutators;

/// <summary>
/// Where every header field of a valid GGUF file lies, found by a walk written from the format description (separate
/// from the engine's reader): the map that structure-aware mutations and targeted corruptions patch.
/// Names: magic, version, tensor_count, kv_count; kv[KEY].key_len/type/value/str_len/elem_type/count and
/// kv[KEY][i].str_len for string elements; tensor[NAME].name_len/n_dims/dim0…/type/offset.
/// </summary>
internal sealed class GgufFieldMap
{
    public enum Kind { Magic, Version, Count, Length, ValueType, Scalar, Dims, Dim, TensorType, Offset }

    public sealed record Field(string Name, long Offset, int Width, Kind Kind, ulong Value);

    public List<Field> Fields { get; } = new();
    /// <summary>End of the tensor infos (the data section starts at the next aligned offset).</summary>
    public long HeaderEnd { get; }

    public GgufFieldMap(byte[] b)
    {
        long p = 0;
        ulong Take(string name, int width, Kind kind)
        {
            ulong v = width switch
            {
                1 => b[p],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan((int)p)),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan((int)p)),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)p)),
            };
            Fields.Add(new Field(name, p, width, kind, v));
            p += width;
            return v;
        }
        string Str(string name)
        {
            int n = (int)Take(name, 8, Kind.Length);
            var s = Encoding.UTF8.GetString(b, (int)p, n);
            p += n;
            return s;
        }
        static int Width(ulong type) => type switch { 0 or 1 or 7 => 1, 2 or 3 => 2, 4 or 5 or 6 => 4, _ => 8 };

        Take("magic", 4, Kind.Magic);
        Take("version", 4, Kind.Version);
        ulong tensors = Take("tensor_count", 8, Kind.Count);
        ulong kvs = Take("kv_count", 8, Kind.Count);
        string Peek() => Encoding.UTF8.GetString(b, (int)p + 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)p)));
        for (ulong i = 0; i < kvs; i++)
        {
            string key = Peek();
            Str($"kv[{key}].key_len");
            ulong type = Take($"kv[{key}].type", 4, Kind.ValueType);
            if (type == 8) Str($"kv[{key}].str_len");
            else if (type == 9)
            {
                ulong et = Take($"kv[{key}].elem_type", 4, Kind.ValueType);
                ulong n = Take($"kv[{key}].count", 8, Kind.Count);
                for (ulong j = 0; j < n; j++)
                    if (et == 8) Str($"kv[{key}][{j}].str_len");
                    else p += Width(et);
            }
            else Take($"kv[{key}].value", Width(type), Kind.Scalar);
        }
        for (ulong i = 0; i < tensors; i++)
        {
            string name = Peek();
            Str($"tensor[{name}].name_len");
            ulong dims = Take($"tensor[{name}].n_dims", 4, Kind.Dims);
            for (ulong d = 0; d < dims; d++) Take($"tensor[{name}].dim{d}", 8, Kind.Dim);
            Take($"tensor[{name}].type", 4, Kind.TensorType);
            Take($"tensor[{name}].offset", 8, Kind.Offset);
        }
        HeaderEnd = p;
    }

    public Field this[string name] => Fields.Single(f => f.Name == name);

    /// <summary>A copy of <paramref name="bytes"/> with field <paramref name="name"/> set to <paramref name="value"/>.</summary>
    public byte[] With(byte[] bytes, string name, ulong value) => Patch(bytes, this[name], value);

    public static byte[] Patch(byte[] bytes, Field f, ulong value) => BinaryMutator.Patch(bytes, (int)f.Offset, f.Width, value);
}
