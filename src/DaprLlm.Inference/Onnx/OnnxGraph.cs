namespace DaprLlm.Inference.Onnx;

/// <summary>
/// Reads which operators an .onnx file's main graph uses, straight from the protobuf (ONNX Runtime's API does not
/// list nodes). Only the node headers are read: initializers and other fields are skipped by seeking, so a
/// multi-gigabyte model with embedded weights is scanned without loading them.
/// </summary>
public static class OnnxGraph
{
    // Field numbers from onnx.proto: ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4.
    private const int ModelGraph = 7;
    private const int GraphNode = 1;
    private const int NodeOpType = 4;

    /// <summary>Whether any node of the main graph has the operator type <paramref name="opType"/>.</summary>
    public static bool UsesOperator(string modelPath, string opType)
    {
        try
        {
            using var stream = new FileStream(modelPath, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024);
            while (stream.Position < stream.Length)
            {
                var (field, wire) = ReadTag(stream);
                if (field == ModelGraph && wire == 2)
                {
                    var length = ReadVarint(stream);
                    return GraphUses(stream, stream.Position + length, opType);
                }

                Skip(stream, wire);
            }

            return false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            throw new ModelLoadException($"cannot read the graph of '{modelPath}': {e.Message}", e);
        }
    }

    private static bool GraphUses(FileStream stream, long end, string opType)
    {
        while (stream.Position < end)
        {
            var (field, wire) = ReadTag(stream);
            if (field != GraphNode || wire != 2)
            {
                Skip(stream, wire);
                continue;
            }

            var nodeLength = ReadVarint(stream);
            var nodeEnd = stream.Position + nodeLength;
            while (stream.Position < nodeEnd)
            {
                var (nodeField, nodeWire) = ReadTag(stream);
                if (nodeField == NodeOpType && nodeWire == 2)
                {
                    var bytes = new byte[ReadVarint(stream)];
                    stream.ReadExactly(bytes);
                    if (System.Text.Encoding.UTF8.GetString(bytes) == opType)
                    {
                        return true;
                    }
                }
                else
                {
                    Skip(stream, nodeWire);
                }
            }

            stream.Position = nodeEnd;
        }

        return false;
    }

    private static (int Field, int Wire) ReadTag(FileStream stream)
    {
        var tag = ReadVarint(stream);
        return ((int)(tag >> 3), (int)(tag & 7));
    }

    private static long ReadVarint(FileStream stream)
    {
        long value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0)
            {
                throw new InvalidDataException("truncated protobuf varint");
            }

            value |= (long)(b & 0x7f) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new InvalidDataException("malformed protobuf varint");
    }

    private static void Skip(FileStream stream, int wire)
    {
        switch (wire)
        {
            case 0:
                ReadVarint(stream);
                break;
            case 1:
                stream.Seek(8, SeekOrigin.Current);
                break;
            case 2:
                stream.Seek(ReadVarint(stream), SeekOrigin.Current);
                break;
            case 5:
                stream.Seek(4, SeekOrigin.Current);
                break;
            default:
                throw new InvalidDataException($"unexpected protobuf wire type {wire}: not an ONNX model");
        }
    }
}
