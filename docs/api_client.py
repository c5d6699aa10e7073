"""施教机构数据接口（/api/v1）的 Python 示例客户端：只用标准库。

流程：列出审核通过的培训计划 → 在计划下创建培训班 → 分批（每批最多 1,000 条）上报学员成绩
→ 申报学时 → 查询审核状态。成绩文件为 UTF-8 CSV，表头：

    record_id,id_number,name,score,completed_at

``record_id`` 是学习平台自己的学习记录号，用作幂等键：同一文件重复运行不会重复上报。

    python docs/api_client.py --base-url https://jxjy.example.gov.cn --key jxjy_... \\
        --plan 12 --class-name "2026 年公需课第一期" --hours 12 \\
        --start 2026-03-01 --end 2026-03-31 --scores scores.csv --route hrss
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
import urllib.error
import urllib.request

BATCH = 1000


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status} {body.get('code')}: {body.get('message')}（字段：{body.get('field')}）")
        self.status, self.body = status, body


class Client:
    def __init__(self, base_url, key, timeout=60):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.key, self.timeout = key, timeout

    def request(self, method, path, body=None, retries=3):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.key}", "Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            payload = json.loads(exc.read().decode("utf-8") or "{}")
            if exc.code == 429 and retries > 0:  # too many calls: wait and retry
                time.sleep(int(exc.headers.get("Retry-After", "5")))
                return self.request(method, path, body, retries - 1)
            raise ApiError(exc.code, payload) from None

    def pages(self, path):
        """Every item of a list endpoint, following ``next_cursor``."""
        sep = "&" if "?" in path else "?"
        cursor = None
        while True:
            page = self.request("GET", path + (f"{sep}cursor={cursor}" if cursor else ""))
            yield from page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return


def read_scores(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return [{"idempotency_key": row["record_id"], "id_number": row["id_number"], "name": row["name"],
                 "score": float(row["score"]), "completed_at": row["completed_at"]} for row in csv.DictReader(f)]


def run(args, out=print):
    api = Client(args.base_url, args.key)
    plans = list(api.pages("/plans"))
    out(f"审核通过的培训计划：{len(plans)} 个")
    plan = next((p for p in plans if p["id"] == args.plan), None) if args.plan else (plans[0] if plans else None)
    if plan is None:
        raise SystemExit("没有可用的培训计划")
    cls = api.request("POST", "/classes", {
        "plan_id": plan["id"], "name": args.class_name, "hours": args.hours, "start_date": args.start,
        "end_date": args.end, "planned_trainees": args.planned})
    out(f"已创建培训班 {cls['id']}：{cls['name']}（{plan['name']}）")

    rows = read_scores(args.scores)
    accepted = replayed = 0
    for start in range(0, len(rows), BATCH):
        result = api.request("POST", f"/classes/{cls['id']}/scores", {"results": rows[start:start + BATCH]})
        accepted += result["accepted"]
        replayed += result["replayed"]
        for r in result["results"]:
            if r["status"] == "rejected":
                out(f"  未接收 {r['idempotency_key']}：{r['message']}")
    out(f"成绩：新接收 {accepted} 条，此前已接收 {replayed} 条")

    declared = api.request("POST", f"/classes/{cls['id']}/declaration",
                           {"route": args.route} if args.route else {})
    out(f"已申报：{declared['declarations']} 名合格学员的学时进入审核")

    counts = {}
    for d in api.pages(f"/declarations?class_id={cls['id']}"):
        counts[d["status_label"]] = counts.get(d["status_label"], 0) + 1
    out("审核状态：" + "，".join(f"{k} {v} 条" for k, v in sorted(counts.items())))
    return {"class_id": cls["id"], "accepted": accepted, "replayed": replayed, "declared": declared["declarations"],
            "statuses": counts}


def main(argv=None):
    parser = argparse.ArgumentParser(description="施教机构数据接口示例客户端")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key", required=True, help="API 密钥（jxjy_ 开头）")
    parser.add_argument("--plan", type=int, help="培训计划 id（默认第一个审核通过的计划）")
    parser.add_argument("--class-name", required=True)
    parser.add_argument("--hours", type=float, required=True)
    parser.add_argument("--start", required=True, help="开始日期 YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="结束日期 YYYY-MM-DD")
    parser.add_argument("--planned", type=int, default=1000, help="计划培训人数")
    parser.add_argument("--scores", required=True, help="成绩 CSV 文件")
    parser.add_argument("--route", choices=["hrss", "industry"], help="专业科目的送审部门")
    try:
        run(parser.parse_args(argv))
    except ApiError as exc:
        print(f"接口返回错误：{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
