using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Dapr.Client;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Grpc.Net.Client;

namespace DaprLlm.Gateway.Tests.Infrastructure;

/// <summary>
/// A DaprClient over an in-memory gRPC answerer: state with ETags (first-write included) and secrets, so unit tests
/// can drive TenantStore and GatewaySecrets without a sidecar. <see cref="FailSave"/> makes chosen writes fail with
/// ABORTED, as a store answers an ETag conflict.
/// </summary>
public sealed class FakeDapr : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, (ByteString Value, long ETag)> _state = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _etags;

    public FakeDapr() =>
        Client = new DaprClientBuilder()
            .UseGrpcEndpoint("http://fake-dapr")
            .UseGrpcChannelOptions(new GrpcChannelOptions { HttpHandler = this })
            .Build();

    public DaprClient Client { get; }

    /// <summary>Secret values by name, as the secret store holds them.</summary>
    public ConcurrentDictionary<string, string> Secrets { get; } = new(StringComparer.Ordinal);

    /// <summary>Asked for each state key written; true makes that write fail with ABORTED.</summary>
    public Func<string, bool> FailSave { get; set; } = _ => false;

    /// <summary>How many GetState calls were made.</summary>
    public int StateReads => _stateReads;

    private int _stateReads;

    public bool HasState(string key) => _state.ContainsKey(key);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        var message = body.AsSpan(5).ToArray();
        var method = request.RequestUri!.AbsolutePath.Split('/')[^1];
        try
        {
            IMessage reply = method switch
            {
                "GetState" => GetState(GetStateRequest.Parser.ParseFrom(message)),
                "SaveState" => SaveState(SaveStateRequest.Parser.ParseFrom(message)),
                "GetSecret" => GetSecret(GetSecretRequest.Parser.ParseFrom(message)),
                _ => throw new StatusException(12, $"FakeDapr does not implement {method}"),
            };
            return Answer(reply);
        }
        catch (StatusException e)
        {
            return Status(e.Code, e.Message);
        }
    }

    private GetStateResponse GetState(GetStateRequest request)
    {
        Interlocked.Increment(ref _stateReads);
        return _state.TryGetValue(request.Key, out var item)
            ? new GetStateResponse { Data = item.Value, Etag = item.ETag.ToString(System.Globalization.CultureInfo.InvariantCulture) }
            : new GetStateResponse();
    }

    private Google.Protobuf.WellKnownTypes.Empty SaveState(SaveStateRequest request)
    {
        lock (_gate)
        {
            foreach (var item in request.States)
            {
                if (FailSave(item.Key))
                {
                    throw new StatusException(10, "failed saving state in state store: possible etag mismatch");
                }

                var exists = _state.TryGetValue(item.Key, out var current);
                if (item.Etag is { } etag)
                {
                    var firstWrite = item.Options?.Concurrency == Dapr.Client.Autogen.Grpc.v1.StateOptions.Types.StateConcurrency.ConcurrencyFirstWrite;
                    var matches = etag.Value.Length == 0
                        ? !(firstWrite && exists)
                        : exists && etag.Value == current.ETag.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (!matches)
                    {
                        throw new StatusException(10, "failed saving state in state store: possible etag mismatch");
                    }
                }

                _state[item.Key] = (item.Value, Interlocked.Increment(ref _etags));
            }
        }

        return new Google.Protobuf.WellKnownTypes.Empty();
    }

    private GetSecretResponse GetSecret(GetSecretRequest request)
    {
        var response = new GetSecretResponse();
        if (Secrets.TryGetValue(request.Key, out var value))
        {
            response.Data[request.Key] = value;
        }

        return response;
    }

    private static HttpResponseMessage Answer(IMessage reply)
    {
        var payload = reply.ToByteArray();
        var frame = new byte[5 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = new ByteArrayContent(frame) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        response.TrailingHeaders.Add("grpc-status", "0");
        return response;
    }

    private static HttpResponseMessage Status(int code, string message)
    {
        // A trailers-only answer: the status travels in the headers.
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Version = HttpVersion.Version20, Content = new ByteArrayContent([]) };
        response.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        response.Headers.Add("grpc-status", code.ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.Headers.Add("grpc-message", message);
        return response;
    }

    private sealed class StatusException(int code, string message) : Exception(message)
    {
        public int Code { get; } = code;
    }
}
