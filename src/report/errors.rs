//! Errors the user can act on, in the reader's language (their `Display` is the English):
//! a damaged or unreadable capture file, a capture libpcap refused, a demo port in use.

use crate::capture::file::{Damage, FileError, OptionProblem};
use crate::capture::live::CaptureError;
use crate::demo::DemoError;
use crate::lang::Lang;

/// A capture file's damage, naming the frame and byte offset where it is.
pub fn file_error(e: &FileError, lang: Lang) -> String {
    match lang {
        Lang::En => e.to_string(),
        Lang::Zh => match e {
            FileError::Io(io) => format!("读取失败: {io}"),
            FileError::NotACapture { magic } => {
                format!("不是 pcap 或 pcapng 抓包文件 (前四个字节 {magic:#010x})")
            }
            FileError::BadHeader(d) => format!("抓包文件头部错误: {}", damage_zh(d)),
            FileError::BadRecord {
                frame,
                offset,
                what,
            } => format!(
                "第 {frame} 帧 (文件偏移 {offset} 字节): {}",
                damage_zh(what)
            ),
            FileError::CutShort {
                frame,
                offset,
                need,
                have,
            } => format!(
                "第 {frame} 帧 (文件偏移 {offset} 字节): 文件在一条记录中间截断 (应有 {need} 字节, 只有 {have} 字节)"
            ),
        },
    }
}

fn damage_zh(d: &Damage) -> String {
    match d {
        Damage::FileTooShort { len } => format!("文件只有 {len} 字节, 不足以构成任何抓包格式"),
        Damage::PcapHeaderCut { have } => format!("pcap 文件头只有 {have} 字节 (应为 24 字节)"),
        Damage::PcapVersion { major } => format!("不支持 pcap 主版本 {major}"),
        Damage::PcapngVersion { major } => format!("不支持 pcapng 主版本 {major}"),
        Damage::ShbCut => "pcapng 节头块被截断".into(),
        Damage::ShbNoMagic => "pcapng 节头块没有字节序标记".into(),
        Damage::ShbLength { total } => format!("pcapng 节头块的长度 {total} 不可能"),
        Damage::RecordTooLarge { caplen, max } => {
            format!("记录声称抓到 {caplen} 字节, 超过上限 {max}: 文件已损坏")
        }
        Damage::BlockLength { btype, total } => {
            format!("类型为 {btype:#x} 的 pcapng 块长度 {total} 不可能")
        }
        Damage::TrailerMismatch { total, trailer } => {
            format!("pcapng 块长度 {total} 与块尾的副本 {trailer} 不一致")
        }
        Damage::BlockTooShort { block } => {
            format!("pcapng {} 太短, 放不下固定字段", block_zh(block))
        }
        Damage::BadOptions { block, problem } => {
            let p = match problem {
                OptionProblem::NoHeader => "剩余数据不足一个选项头".to_string(),
                OptionProblem::TooLong { len } => format!("剩余数据放不下长度为 {len} 的选项"),
            };
            format!("pcapng {}: {p}", block_zh(block))
        }
        Damage::UnknownInterface { ifid, count } => {
            format!("数据包指向接口 {ifid}, 但本节只有 {count} 个接口")
        }
        Damage::CaplenPastBlock { caplen, room } => {
            format!("记录声称抓到 {caplen} 字节, 但所在块只容纳 {room} 字节")
        }
        Damage::TimeResolution { code } => format!("接口的时间精度 {code:#04x} 不可能"),
        Damage::Decompression { problem } => format!("压缩数据无法解压: {problem}"),
        Damage::LinkTypeField { value } => format!("文件头的链路类型 {value} 不存在"),
    }
}

fn block_zh(block: &str) -> &str {
    match block {
        "section header" => "节头块",
        "interface statistics" | "interface statistics block" => "接口统计块",
        "packet block" => "数据包块",
        "simple packet block" => "简单数据包块",
        "interface description" | "interface description block" => "接口描述块",
        other => other,
    }
}

/// Why a live capture could not start, with what to do about it.
pub fn capture_error(e: &CaptureError, lang: Lang) -> String {
    match lang {
        Lang::En => e.to_string(),
        Lang::Zh => match e {
            CaptureError::Permission { device, detail } => format!(
                "在 {device} 上抓包需要 root 权限或 CAP_NET_RAW ({detail}); 请以 root 运行, 或一次性授予权限: `sudo setcap cap_net_raw,cap_net_admin=eip $(command -v synack)`"
            ),
            CaptureError::NoSuchDevice { device, detail } => {
                format!("没有名为 {device} 的抓包接口 ({detail}); `synack watch -D` 可列出接口")
            }
            CaptureError::NoDevice => "找不到可以抓包的接口".into(),
            CaptureError::BadFilter { filter, detail } => {
                format!("过滤表达式 `{filter}` 有误: {detail}")
            }
            CaptureError::Savefile { path, detail } => format!("无法写入 {path}: {detail}"),
            CaptureError::Other { device, detail } => format!("在 {device} 上抓包失败: {detail}"),
        },
    }
}

/// Why the demo's servers could not start.
pub fn demo_error(e: &DemoError, lang: Lang) -> String {
    match lang {
        Lang::En => e.to_string(),
        Lang::Zh => match e {
            DemoError::PortInUse { proto, addr } => format!(
                "{} 上的 {proto} 端口 {} 已被占用; 请停止占用它的程序, 用 --port/--udp-port 换一个端口, 或用 --port 0 让 synack 自选空闲端口",
                addr.ip(),
                addr.port()
            ),
            DemoError::Bind { proto, addr, err } => {
                format!("无法把 {proto} 服务器绑定到 {addr}: {err}")
            }
            DemoError::Io { what, err } => format!("{what}: {err}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_damage_in_both_languages() {
        let e = FileError::BadRecord {
            frame: 4,
            offset: 232,
            what: Damage::RecordTooLarge {
                caplen: 104857664,
                max: 262144,
            },
        };
        assert!(file_error(&e, Lang::En).starts_with("frame 4 at byte offset 232: record claims"));
        assert_eq!(
            file_error(&e, Lang::Zh),
            "第 4 帧 (文件偏移 232 字节): 记录声称抓到 104857664 字节, 超过上限 262144: 文件已损坏"
        );
    }
}
