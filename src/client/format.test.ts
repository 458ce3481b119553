import { describe, expect, it } from "vitest";
import {
  ellipsis,
  formatHistory,
  formatImages,
  formatTable,
  historyRows,
  humanDuration,
  humanSize,
  nopCreatedBy,
  timeAgo,
} from "./format.ts";

describe("humanSize (go-units, precision 3)", () => {
  it.each([
    [0, "0B"],
    [215, "215B"],
    [1200, "1.2kB"],
    [4_260_000, "4.26MB"],
    [4_264_123, "4.26MB"],
    [1_000_000, "1MB"],
    [999_999, "1e+03kB"],
    [12_345_678_901, "12.3GB"],
  ])("%d → %s", (n, s) => expect(humanSize(n)).toBe(s));
});

describe("humanDuration", () => {
  it.each([
    [500, "Less than a second"],
    [1000, "1 second"],
    [45_000, "45 seconds"],
    [60_000, "About a minute"],
    [120_000, "2 minutes"],
    [3_600_000, "About an hour"],
    [5 * 3_600_000, "5 hours"],
    [3 * 86_400_000, "3 days"],
    [20 * 86_400_000, "2 weeks"],
    [90 * 86_400_000, "3 months"],
    [800 * 86_400_000, "2 years"],
  ])("%d ms → %s", (ms, s) => expect(humanDuration(ms)).toBe(s));
  it("timeAgo", () => {
    expect(
      timeAgo({
        time: "2024-01-01T00:00:00Z",
        now: Date.parse("2024-01-01T00:02:00Z"),
      }),
    ).toBe("2 minutes ago");
    expect(timeAgo({ time: undefined })).toBe("N/A");
  });
});

describe("tables", () => {
  const now = Date.parse("2024-01-01T01:00:00Z");
  it("docker images", () => {
    const out = formatImages({
      now,
      images: [
        {
          id: `sha256:${"ab".repeat(32)}`,
          repository: "busybox",
          tag: "latest",
          created: "2024-01-01T00:58:00Z",
          size: 4_260_000,
        },
        {
          id: `sha256:${"cd".repeat(32)}`,
          repository: "<none>",
          tag: "<none>",
          created: "2023-12-30T00:00:00Z",
          size: 1200,
        },
      ],
    });
    expect(out).toBe(
      "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n" +
        "busybox      latest    abababababab   2 minutes ago   4.26MB\n" +
        "<none>       <none>    cdcdcdcdcdcd   2 days ago      1.2kB\n",
    );
  });

  it("docker history", () => {
    const rows = historyRows({
      id: `sha256:${"ef".repeat(32)}`,
      layerSizes: [4_260_000, 12],
      history: [
        {
          created: "2024-01-01T00:00:00Z",
          created_by: "/bin/sh -c #(nop) ADD file:abc in / ",
        },
        {
          created: "2024-01-01T00:00:00Z",
          created_by: nopCreatedBy(' CMD ["sh"]'),
          empty_layer: true,
        },
        {
          created: "2024-01-01T00:59:00Z",
          created_by:
            "RUN /bin/sh -c echo hello > /greeting && echo this line is long # buildkit",
          comment: "buildkit.dockerfile.v0",
        },
      ],
    });
    expect(formatHistory({ rows, now })).toBe(
      "IMAGE          CREATED              CREATED BY                                      SIZE      COMMENT\n" +
        "efefefefefef   About a minute ago   RUN /bin/sh -c echo hello > /greeting && ech…   12B       buildkit.dockerfile.v0\n" +
        '<missing>      About an hour ago    /bin/sh -c #(nop)  CMD ["sh"]                   0B        \n' +
        "<missing>      About an hour ago    /bin/sh -c #(nop) ADD file:abc in /             4.26MB    \n",
    );
  });

  it("generic columns", () => {
    expect(
      formatTable({
        columns: [
          { header: "A", value: (r: string) => r },
          { header: "B", value: () => "x" },
        ],
        rows: ["long-value-here"],
      }),
    ).toBe("A                 B\nlong-value-here   x\n");
    expect(ellipsis("abcdef", 4)).toBe("abc…");
  });
});
